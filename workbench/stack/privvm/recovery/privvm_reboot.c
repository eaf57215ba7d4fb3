/* privvm_reboot, the PrivVM's half.  What must survive a microreboot of the PrivVM is kept in a
 * region of its slot the image does not cover (PRIVVM_KEEP_OFF; the hypervisor's reload leaves it
 * alone): the configuration store itself (tree and watches) and the toolstack's bookkeeping (which
 * domain is which AppVM, the DVM).  A preserved region rather than a separate store domain: it
 * needs no new domain, slot or channel protocol, and the store's code still reboots with the
 * toolstack (a corrupted tree is caught by its magic, not trusted blindly).
 *
 * A new instance (start->reboots > 0) reattaches the store, reloads the bookkeeping, and reconnects
 * every live domain: its store channel (the domain's end became unbound for d0 when the old instance's
 * channels were closed: getinfo says which port), its store ring (mapped again), its ping channel;
 * then it bumps the ring's server_gen and kicks the channel, so the client resends the request it
 * had in flight and registers its watches again, and drops what the old instance left unread on the
 * response ring (rsp_start: the old instance may have written it while failing).  A mutating request resent after it was applied is
 * answered without applying it twice (last_mut: the id of the last one applied, per client). */
#include "privvm.h"

/* The toolstack's bookkeeping as the next instance needs it: which domain is which AppVM, the DVM
 * (the rest of struct appvm, its channels, ring and counters, reconnect() sets again). */
struct keep_app {
    u32 domid, index;
    struct appvm_cfg cfg;
    u32 done;
};
struct keep_book {
    u32 napps, dvm_slots;
    struct keep_app apps[MAX_APPVMS];
    struct keep_app dvm;
    u32 sum;                               /* over the above: a torn or stray write shows */
};

/* Each kept part twice, neighbours never two copies of one part, so a stray write running on from
 * one copy (a failing instance's) spoils at most one copy of each. */
struct privvm_keep {
    u32 shared_page[PAGE_SIZE / 4];        /* granted to every AppVM (`hcall` copies from it): it must
                                              read the same while the PrivVM reboots (first: aligned) */
    u32 magic;
    u32 last_mut[MAX_APPVMS + 1];          /* client k (napps = the DVM): last mutating req_id applied */
    u32 begun[MAX_APPVMS + 1];             /* ... and the one being applied (set before, kept after) */
    struct keep_book book_a;
    u64 store[STORE_KEEP_WORDS];           /* store_tree_size bytes */
    struct keep_book book_b;
    u64 store_mirror[STORE_KEEP_WORDS];
};
#define KEEP_MAGIC 0x5045454Bu             /* "KEEP" */
#define KEEP ((struct privvm_keep *)(uptr)(start->slot_base + PRIVVM_KEEP_OFF))

static u32 book_sum(const struct keep_book *b)
{
    return store_sum(b, offsetof(struct keep_book, sum));
}

static void book_of(struct keep_app *k, const struct appvm *a)
{
    *k = (struct keep_app){ a->domid, a->index, a->cfg, a->done };
}

/* A fresh boot: an empty store in the kept region, and the shared page's content. */
void privvm_keep_init(void)
{
    memset(KEEP, 0, sizeof(*KEEP));
    KEEP->magic = KEEP_MAGIC;
    store_attach(KEEP->store, KEEP->store_mirror, 1);
    for (u32 i = 0; i < ARRAY_SIZE(KEEP->shared_page); i++)
        KEEP->shared_page[i] = i * 0x9E3779B9u;
}

u32 *keep_shared_page(void)
{
    return KEEP->shared_page;
}

/* The bookkeeping the next instance needs (called whenever it may have changed): rewritten only
 * when it did, copy A then, once A reads back right, copy B.  A copy that does not read back
 * right means this instance cannot copy memory: it stops before it spoils B as well. */
void keep_save(void)
{
    struct keep_book b;
    memset(&b, 0, sizeof(b));
    b.napps = napps;
    b.dvm_slots = dvm_slots;
    for (u32 k = 0; k < MAX_APPVMS; k++)
        book_of(&b.apps[k], &apps[k]);
    book_of(&b.dvm, &dvm);
    b.sum = book_sum(&b);
    if (b.sum == KEEP->book_a.sum && b.sum == KEEP->book_b.sum && book_sum(&KEEP->book_a) == b.sum)
        return;
    KEEP->book_a = b;
    if (book_sum(&KEEP->book_a) != b.sum || KEEP->book_a.sum != b.sum)
        guest_panic("keep_save: book A");
    KEEP->book_b = b;
    if (book_sum(&KEEP->book_b) != b.sum || KEEP->book_b.sum != b.sum)
        guest_panic("keep_save: book B");
}

/* The kept bookkeeping: copy A if right, else B; NULL if neither is. */
static const struct keep_book *book_kept(void)
{
    if (book_sum(&KEEP->book_a) == KEEP->book_a.sum && KEEP->book_a.napps <= MAX_APPVMS)
        return &KEEP->book_a;
    if (book_sum(&KEEP->book_b) == KEEP->book_b.sum && KEEP->book_b.napps <= MAX_APPVMS)
        return &KEEP->book_b;
    return NULL;
}

static void app_of(struct appvm *a, const struct keep_app *k)
{
    memset(a, 0, sizeof(*a));
    a->domid = k->domid;
    a->index = k->index;
    a->cfg = k->cfg;
    a->done = k->done;
}

static u32 client_index(struct appvm *a)
{
    return a == &dvm ? MAX_APPVMS : a->index < MAX_APPVMS ? a->index : MAX_APPVMS;
}

/* Store-server dedup: -> 1 if mutating request `req_id` of `a` (a write of `val` at `path`, or a
 * removal: val NULL) was applied already.  A request the old instance began but may not have
 * finished (it died between) is judged by the store: the value is there, or the node is gone. */
int keep_seen_mutation(struct appvm *a, u32 req_id, const char *path, const char *val)
{
    u32 k = client_index(a);
    if (!req_id)
        return 0;
    if (KEEP->last_mut[k] == req_id)
        return 1;
    if (KEEP->begun[k] == req_id) {
        char cur[STORE_MAX_VALUE];
        int n = st_read(path, cur, sizeof(cur));
        return val ? n >= 0 && !strcmp(cur, val) : n < 0;
    }
    KEEP->begun[k] = req_id;
    return 0;
}

void keep_note_mutation(struct appvm *a, u32 req_id)
{
    KEEP->last_mut[client_index(a)] = req_id;
}

void keep_new_client(struct appvm *a)
{
    KEEP->last_mut[client_index(a)] = KEEP->begun[client_index(a)] = 0;
}

/* Why this instance could not recover (read by the workbench through DWARF: a failure's cause):
 * KEPT_STORE / KEPT_BOOK, the failure had corrupted both copies of that before it was detected. */
enum keep_corrupt_state { KEPT_OK = 0, KEPT_STORE = 1, KEPT_BOOK = 2 };
enum keep_corrupt_state keep_corrupt;

void __attribute__((noinline, used)) privvm_reboot_phase_reattach(void)
{
    gprintf("privvm: microreboot %u: store and bookkeeping reattached\n", start->reboots);
}

void __attribute__((noinline, used)) privvm_reboot_phase_reconnected(u32 n)
{
    gprintf("privvm: reconnected %u domain(s)\n", n);
}

/* Reconnect one domain's store channel, ring and ping channel; -> 0, or -1 if it is gone. */
static int reconnect(struct appvm *a)
{
    a->ring = NULL;
    a->store_port = a->ping_port = 0;
    struct domctl_getinfo gi = { a->domid };
    if (hc_domctl(DOMCTL_getinfo, &gi) < 0 || !gi.store_port)
        return -1;
    long lp = evtchn_bind_interdomain(a->domid, gi.store_port);
    struct gnttab_map m = { a->domid, GREF_STORE, 0, 0 };
    if (lp < 0 || hc_gnttab(GNTTABOP_map, &m) < 0) {
        gprintf("privvm: cannot reconnect d%u's store (%d)\n", a->domid, (int)lp);
        return -1;
    }
    a->store_port = lp;
    a->store_seen = port_count[lp];
    a->ring_handle = m.handle;
    a->ring = (struct store_ring_page *)(uptr)m.addr;
    char k[STORE_MAX_PATH], v[16];
    appvm_key(k, sizeof(k), a->domid, "ping-port");
    if (st_read(k, v, sizeof(v)) > 0) {
        long p = evtchn_bind_interdomain(a->domid, atou(v));
        if (p > 0) {
            a->ping_port = p;
            a->ping_seen = port_count[p];
            evtchn_send(p);                      /* a pong the old instance may have owed */
        }
    }
    a->ring->rsp_start = a->ring->rsp_prod;   /* the old instance's unread answers: not to be trusted */
    fence();
    a->ring->server_gen++;
    evtchn_send(a->store_port);
    return 0;
}

/* Both kept copies of the bookkeeping are wrong (the failing instance saved corrupt state, or stray
 * writes hit both): rebuild it from what create_appvm and create_dvm wrote in the store (an AppVM's
 * directory names its index and workload; the DVM's, its I/O slots) and the boot configuration;
 * getinfo says which domains still exist.  -> 0, or -1 if the store names no AppVM. */
static int book_from_store(void)
{
    char names[STORE_MAX_PAYLOAD], k[STORE_MAX_PATH], v[STORE_MAX_VALUE];
    int n = st_directory("/local/domain", names, sizeof(names)), found = 0;
    napps = start->sys.nappvms < MAX_APPVMS ? start->sys.nappvms : MAX_APPVMS;
    memset(apps, 0, sizeof(apps));
    memset(&dvm, 0, sizeof(dvm));
    for (u32 i = 0; i < napps; i++)
        apps[i].done = 1;                       /* until a live domain claims AppVM i */
    for (int off = 0; n > 0 && off < n; off += strlen(names + off) + 1) {
        u32 domid = atou(names + off);
        struct domctl_getinfo gi = { domid };
        if (!domid || hc_domctl(DOMCTL_getinfo, &gi) < 0)
            continue;                           /* gone */
        appvm_key(k, sizeof(k), domid, "io-slots");
        if (st_read(k, v, sizeof(v)) > 0) {
            dvm.domid = domid;
            dvm.index = ~0u;
            dvm_slots = atou(v);
            continue;
        }
        appvm_key(k, sizeof(k), domid, "appvm");
        if (st_read(k, v, sizeof(v)) <= 0 || atou(v) >= napps)
            continue;
        struct appvm *a = &apps[atou(v)];
        a->domid = domid;
        a->index = atou(v);
        a->done = 0;
        a->cfg = start->sys.appvm[a->index];
        appvm_key(k, sizeof(k), domid, "workload");
        if (st_read(k, v, sizeof(v)) > 0)       /* the health check's AppVM differs from the boot's */
            for (u32 w = 0; w < WL_COUNT; w++)
                if (!strcmp(v, workloads[w].name))
                    a->cfg.workload = w;
        appvm_key(k, sizeof(k), domid, "iterations");
        if (st_read(k, v, sizeof(v)) > 0)
            a->cfg.iterations = atou(v);
        appvm_key(k, sizeof(k), domid, "seed");
        if (st_read(k, v, sizeof(v)) > 0)
            a->cfg.seed = atou(v);
        found++;
    }
    return found || !napps ? 0 : -1;
}

/* The new instance's start: -> 0, or -1 if there is nothing to recover from. */
int privvm_reboot_resume(void)
{
    const struct keep_book *b = KEEP->magic == KEEP_MAGIC ? book_kept() : NULL;
    int repaired = KEEP->magic == KEEP_MAGIC ? store_attach(KEEP->store, KEEP->store_mirror, 0) : -1;
    if (repaired < 0) {
        gprintf("privvm: microreboot: kept store corrupted, nothing to recover from\n");
        keep_corrupt = KEPT_STORE;
        return -1;
    }
    if (b) {
        napps = b->napps;
        dvm_slots = b->dvm_slots;
        for (u32 k = 0; k < MAX_APPVMS; k++)
            app_of(&apps[k], &b->apps[k]);
        app_of(&dvm, &b->dvm);
    } else if (book_from_store() < 0) {
        gprintf("privvm: microreboot: kept bookkeeping corrupted, and the store does not name the domains\n");
        keep_corrupt = KEPT_BOOK;
        return -1;
    }
    if (b != &KEEP->book_a || repaired)
        gprintf("privvm: microreboot: repaired %s, %u store entr%s from the second copy\n",
                b == &KEEP->book_a ? "nothing else" : b ? "the bookkeeping" : "the bookkeeping from the store",
                repaired, repaired == 1 ? "y" : "ies");
    privvm_reboot_phase_reattach();
    u32 n = 0;
    for (u32 k = 0; k <= napps; k++) {
        struct appvm *a = client(k);
        if (!a || !a->domid)
            continue;
        if (reconnect(a) == 0)
            n++;
        else if (k < napps)
            a->done = 1;
    }
    keep_save();
    privvm_reboot_phase_reconnected(n);
    return 0;
}
