/* The configuration store (xenstore's role): a tree of named nodes with string values, and watches
 * that fire when anything at or below a watched path changes.  Fixed-size pools, no allocation. */
#include "lib.h"
#include "hverrno.h"
#include "store.h"        /* the wire ABI: sizes */
#include "store_tree.h"

#define NR_NODES 160
#define NAME_LEN 20
struct node {
    u8 used;
    s16 parent, child, next;          /* tree links (indices; -1 = none) */
    char name[NAME_LEN];
    char value[STORE_MAX_VALUE];
};
#define NR_WATCHES 32
struct watch {
    u32 used, dom;
    char path[STORE_MAX_PATH];
    char token[16];
};
/* The whole store in one struct, so it can live where a PrivVM microreboot keeps it.  Kept, it has
 * a mirror elsewhere: each node and watch is sealed (its sum, then its copy in the mirror) as soon
 * as it changes, so a stray write of a failing PrivVM into either shows as a wrong sum, and the
 * next instance takes that entry from the other copy. */
struct store_tree {
    u32 magic;
    struct node node[NR_NODES];
    struct watch watch[NR_WATCHES];
    u32 node_sum[NR_NODES], watch_sum[NR_WATCHES];
};
#define STORE_TREE_MAGIC 0x45455254u      /* "TREE" */
static struct store_tree own;
static struct store_tree *tree = &own, *mirror;
#define nodes (tree->node)
#define watches (tree->watch)
const u32 store_tree_size = sizeof(struct store_tree);
_Static_assert(sizeof(struct store_tree) <= STORE_KEEP_WORDS * 8, "STORE_KEEP_WORDS too small");

_Static_assert(sizeof(struct node) % 4 == 0 && sizeof(struct watch) % 4 == 0, "entries are summed by words");

u32 store_sum(const void *p, u32 n)
{
    const u32 *w = p;
    u32 h = 0x811C9DC5u;                   /* FNV-1a, a word at a time */
    for (u32 i = 0; i < n / 4; i++)
        h = (h ^ w[i]) * 0x01000193u;
    return h;
}
#define sum store_sum

/* Entry i changed: seal it in both copies; a copy that does not read back right means this
 * instance cannot copy memory: stop it before it spoils the other copy too. */
static void seal_node(int i)
{
    if (!mirror || i < 0 || i >= NR_NODES)
        return;
    u32 h = sum(&nodes[i], sizeof(nodes[i]));
    tree->node_sum[i] = h;
    mirror->node[i] = nodes[i];
    if (sum(&mirror->node[i], sizeof(nodes[i])) != h)
        store_corrupt("node");
    mirror->node_sum[i] = h;
}

static void seal_watch(u32 i)
{
    if (!mirror)
        return;
    u32 h = sum(&watches[i], sizeof(watches[i]));
    tree->watch_sum[i] = h;
    mirror->watch[i] = watches[i];
    if (sum(&mirror->watch[i], sizeof(watches[i])) != h)
        store_corrupt("watch");
    mirror->watch_sum[i] = h;
}

void store_init(void)
{
    memset(nodes, 0, sizeof(nodes));
    memset(watches, 0, sizeof(watches));
    nodes[0] = (struct node){ 1, -1, -1, -1, "", "" };
    tree->magic = STORE_TREE_MAGIC;
    if (mirror)
        mirror->magic = STORE_TREE_MAGIC;
    for (int i = 0; i < NR_NODES; i++)
        seal_node(i);
    for (u32 i = 0; i < NR_WATCHES; i++)
        seal_watch(i);
}

/* Verify a kept store entry by entry, each from whichever copy has a right sum: -> entries taken
 * from the mirror, or -1 when both copies of one are wrong (the store cannot be trusted). */
static int store_verify(void)
{
    int repaired = 0;
    for (int i = 0; i < NR_NODES; i++) {
        if (sum(&nodes[i], sizeof(nodes[i])) == tree->node_sum[i])
            continue;
        if (sum(&mirror->node[i], sizeof(nodes[i])) != mirror->node_sum[i])
            return -1;
        nodes[i] = mirror->node[i];
        tree->node_sum[i] = mirror->node_sum[i];
        repaired++;
    }
    for (u32 i = 0; i < NR_WATCHES; i++) {
        if (sum(&watches[i], sizeof(watches[i])) == tree->watch_sum[i])
            continue;
        if (sum(&mirror->watch[i], sizeof(watches[i])) != mirror->watch_sum[i])
            return -1;
        watches[i] = mirror->watch[i];
        tree->watch_sum[i] = mirror->watch_sum[i];
        repaired++;
    }
    for (u32 i = 0; i < NR_WATCHES; i++)   /* the mirror repaired in turn */
        if (sum(&mirror->watch[i], sizeof(watches[i])) != mirror->watch_sum[i])
            seal_watch(i);
    for (int i = 0; i < NR_NODES; i++)
        if (sum(&mirror->node[i], sizeof(nodes[i])) != mirror->node_sum[i])
            seal_node(i);
    return repaired;
}

int store_attach(void *mem, void *mirror_mem, int fresh)
{
    tree = mem;
    mirror = mirror_mem;
    if (fresh)
        store_init();
    if (tree->magic != STORE_TREE_MAGIC && mirror && mirror->magic == STORE_TREE_MAGIC)
        tree->magic = STORE_TREE_MAGIC;
    if (tree->magic != STORE_TREE_MAGIC)
        return -1;
    if (mirror) {
        mirror->magic = STORE_TREE_MAGIC;
        int r = store_verify();
        if (r < 0 || !nodes[0].used)
            return -1;
        return r;
    }
    return nodes[0].used ? 0 : -1;
}

/* Find (or with `create`, make) the node for an absolute path; -1 if absent or no space. */
static int lookup(const char *path, int create)
{
    if (path[0] != '/' || strnlen(path, STORE_MAX_PATH) >= STORE_MAX_PATH)
        return -1;
    int n = 0;
    const char *p = path + 1;
    while (*p) {
        char comp[NAME_LEN];
        u32 len = 0;
        while (p[len] && p[len] != '/')
            len++;
        if (len == 0 || len >= NAME_LEN)
            return -1;
        memcpy(comp, p, len);
        comp[len] = 0;
        int c = nodes[n].child;
        while (c >= 0 && strcmp(nodes[c].name, comp))
            c = nodes[c].next;
        if (c < 0) {
            if (!create)
                return -1;
            for (c = 1; c < NR_NODES && nodes[c].used; c++)
                ;
            if (c == NR_NODES)
                return -1;
            nodes[c] = (struct node){ 1, (s16)n, -1, -1, "", "" };
            strlcpy(nodes[c].name, comp, NAME_LEN);
            seal_node(c);                         /* before it is linked: never a link to garbage */
            int holder = n;
            s16 *link = &nodes[n].child;          /* append: listings keep creation order */
            while (*link >= 0) {
                holder = *link;
                link = &nodes[*link].next;
            }
            *link = (s16)c;
            seal_node(holder);
        }
        n = c;
        p += len;
        if (*p == '/')
            p++;
    }
    return n;
}

static int may_write(u32 dom, const char *path)
{
    if (dom == 0)
        return 1;
    char own[32];
    int n = snprintf(own, sizeof(own), "/local/domain/%u", dom);
    return !strncmp(path, own, n) && (path[n] == '/' || path[n] == 0);
}

static void fire(const char *path)
{
    for (u32 i = 0; i < NR_WATCHES; i++) {
        struct watch *w = &watches[i];
        if (!w->used)
            continue;
        u32 n = strlen(w->path);
        if (!strncmp(path, w->path, n) && (path[n] == '/' || path[n] == 0 || n == 1))
            store_fire(w->dom, path, w->token);
    }
}

int st_read(const char *path, char *val, u32 size)
{
    int n = lookup(path, 0);
    if (n < 0)
        return -ENOENT;
    strlcpy(val, nodes[n].value, size);
    return (int)strlen(val);
}

int st_write(u32 dom, const char *path, const char *val)
{
    if (!may_write(dom, path))
        return -EPERM;
    int n = lookup(path, 1);
    if (n < 0)
        return -ENOSPC;
    strlcpy(nodes[n].value, val, STORE_MAX_VALUE);
    seal_node(n);
    fire(path);
    return 0;
}

static void free_subtree(int n)
{
    for (int c = nodes[n].child; c >= 0; c = nodes[c].next)
        free_subtree(c);
    nodes[n].used = 0;
    seal_node(n);
}

int st_rm(u32 dom, const char *path)
{
    if (!may_write(dom, path))
        return -EPERM;
    int n = lookup(path, 0);
    if (n <= 0)
        return -ENOENT;
    int holder = nodes[n].parent;
    s16 *link = &nodes[holder].child;
    while (*link != n) {
        holder = *link;
        link = &nodes[*link].next;
    }
    *link = nodes[n].next;
    seal_node(holder);                        /* unlinked first: never a link to a free node */
    free_subtree(n);
    fire(path);
    u32 pl = strlen(path);                    /* and watches on what was below it (xenstore does) */
    for (u32 i = 0; i < NR_WATCHES; i++)
        if (watches[i].used && !strncmp(watches[i].path, path, pl) && watches[i].path[pl] == '/')
            store_fire(watches[i].dom, watches[i].path, watches[i].token);
    return 0;
}

int st_directory(const char *path, char *buf, u32 size)
{
    int n = lookup(path, 0);
    if (n < 0)
        return -ENOENT;
    u32 len = 0;
    for (int c = nodes[n].child; c >= 0; c = nodes[c].next) {
        u32 l = strlen(nodes[c].name) + 1;
        if (len + l > size)
            break;
        memcpy(buf + len, nodes[c].name, l);
        len += l;
    }
    return (int)len;
}

int st_watch(u32 dom, const char *path, const char *token)
{
    if (path[0] != '/' || strnlen(path, STORE_MAX_PATH) >= STORE_MAX_PATH)
        return -EINVAL;
    for (u32 i = 0; i < NR_WATCHES; i++)     /* registered again (a client after a PrivVM reboot) */
        if (watches[i].used && watches[i].dom == dom && !strcmp(watches[i].path, path) &&
            !strncmp(watches[i].token, token, sizeof(watches[i].token) - 1)) {
            store_fire(dom, path, watches[i].token);
            return 0;
        }
    for (u32 i = 0; i < NR_WATCHES; i++)
        if (!watches[i].used) {
            watches[i].used = 1;
            watches[i].dom = dom;
            strlcpy(watches[i].path, path, sizeof(watches[i].path));
            strlcpy(watches[i].token, token, sizeof(watches[i].token));
            seal_watch(i);
            store_fire(dom, path, watches[i].token);
            return 0;
        }
    return -ENOSPC;
}

int st_unwatch(u32 dom, const char *path, const char *token)
{
    for (u32 i = 0; i < NR_WATCHES; i++)
        if (watches[i].used && watches[i].dom == dom && !strcmp(watches[i].path, path) &&
            !strcmp(watches[i].token, token)) {
            watches[i].used = 0;
            seal_watch(i);
            return 0;
        }
    return -ENOENT;
}

void st_unwatch_dom(u32 dom)
{
    for (u32 i = 0; i < NR_WATCHES; i++)
        if (watches[i].used && watches[i].dom == dom) {
            watches[i].used = 0;
            seal_watch(i);
        }
}

static void dump_node(int n, char *path, u32 len, st_print_fn print)
{
    if (n > 0) {
        path[len++] = '/';
        strlcpy(path + len, nodes[n].name, STORE_MAX_PATH - len);
        len += strlen(nodes[n].name);
        if (nodes[n].value[0])
            print("  %s = \"%s\"\n", path, nodes[n].value);
    }
    for (int c = nodes[n].child; c >= 0; c = nodes[c].next)
        dump_node(c, path, len, print);
}

void st_dump(st_print_fn print)
{
    char path[STORE_MAX_PATH + NAME_LEN + 2];
    path[0] = 0;
    dump_node(0, path, 0, print);
}
