/* The AppVM kernel: reads its workload from the config store, waits for the toolstack's "go",
 * runs the workload, publishes the result record (memory, console, config store), shuts down. */
#include "appvm.h"

struct wl_result wl_result;
volatile u32 wl_progress;

/* The dispatch: workload_list.h's `name` runs wl_<name> (appvm.h); WL_none has no entry. */
static void (*const wl_run[WL_COUNT])(const struct wl_params *) = {
#define WORKLOAD(id, name, iterations, needs_dvm) [id] = wl_##name,
#include "workload_list.h"
#undef WORKLOAD
};

/* The workload is under way: the steady state the workbench waits for before it injects faults
 * (and before it lets the network peer start). */
void wl_running(void)
{
    fence();
    wl_result.magic = WL_RUNNING_MAGIC;
}
static volatile u32 go;

static void control_changed(const char *path, const char *token)
{
    char v[16];
    if (store_read(path, v, sizeof(v)) > 0 && !strcmp(v, "go"))
        go = 1;
}

static u32 read_u32(const char *key, u32 dflt)
{
    char k[STORE_MAX_PATH], v[24];
    snprintf(k, sizeof(k), "/local/domain/%u/%s", my_domid, key);
    return store_read(k, v, sizeof(v)) > 0 ? atou(v) : dflt;
}

static int store_has_event(void *unused)
{
    const struct store_ring_page *r = (void *)(uptr)start->store_ring;
    return go || READ_ONCE(r->rsp_prod) != r->rsp_cons;
}

int main(void)
{
    store_client_init();
    char k[STORE_MAX_PATH], name[16];
    snprintf(k, sizeof(k), "/local/domain/%u/workload", my_domid);
    if (store_read(k, name, sizeof(name)) < 0)
        strlcpy(name, "none", sizeof(name));
    struct wl_params p = { read_u32("appvm", 0), read_u32("iterations", 10), read_u32("seed", 1) };
    u32 wl = WL_none;
    for (u32 i = 0; i < WL_COUNT; i++)
        if (!strcmp(name, workloads[i].name))
            wl = i;
    snprintf(k, sizeof(k), "/local/domain/%u/control", my_domid);
    store_watch(k, "control", control_changed);
    while (!go) {
        store_poll();
        guest_wait(store_has_event, NULL);
    }
    gprintf("appvm %u: running %s, %u iterations, seed %u\n", p.appvm, name, p.iterations, p.seed);
    wl_result.workload = wl;
    wl_result.status = WL_RUNNING;
    if (!workloads[wl].needs_dvm)         /* I/O workloads say so once their devices are connected */
        wl_running();
    if (wl_run[wl])
        wl_run[wl](&p);
    else
        wl_result.status = WL_FAIL;
    fence();
    wl_result.magic = WL_RESULT_MAGIC;
    const char *st = wl_result.status == WL_OK ? "ok" : "fail";
    gprintf("RESULT app=%u wl=%s status=%s iters=%u checksum=0x%08x\n", p.appvm, name, st,
            wl_result.iterations, wl_result.checksum);
    char v[STORE_MAX_VALUE];
    snprintf(v, sizeof(v), "%s %u 0x%08x", st, wl_result.iterations, wl_result.checksum);
    snprintf(k, sizeof(k), "/local/domain/%u/result", my_domid);
    store_write(k, v);
    if (wl == WL_blk)                     /* let the backend unmap our pages before we go */
        blkfront_close();
    if (wl == WL_net)
        netfront_close();
    return 0;
}
