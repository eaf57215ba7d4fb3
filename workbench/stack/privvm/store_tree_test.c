/* Host test of the config-store tree (built with the host compiler by tests/test_stack_qemu.py):
 * reads, writes, permissions, removal, directories, watches.  Prints "store_tree: ok" on success. */
#include "lib.h"        /* our own strings and snprintf: no libc headers, they would clash */
int puts(const char *s);
void exit(int code) __attribute__((noreturn));
#include "hverrno.h"
#include "store.h"
#include "store_tree.h"

static char fired[16][80];
static int ncorrupt;
void store_corrupt(const char *what) { (void)what; ncorrupt++; }
static int nfired;

void store_fire(u32 dom, const char *path, const char *token)
{
    if (nfired < 16)
        snprintf(fired[nfired++], 80, "%u %s %s", dom, path, token);
}

static int checks;
static char msg[160];
#define CHECK(c) do { checks++; if (!(c)) { snprintf(msg, sizeof(msg), "FAIL line %d: %s", __LINE__, #c); \
                                         puts(msg); exit(1); } } while (0)

int main(void)
{
    char v[STORE_MAX_VALUE], dir[128];
    store_init();
    CHECK(st_read("/a", v, sizeof(v)) == -ENOENT);
    CHECK(st_write(0, "/local/domain/3/x", "hello") == 0);
    CHECK(st_read("/local/domain/3/x", v, sizeof(v)) == 5 && !strcmp(v, "hello"));
    CHECK(st_read("/local/domain/3", v, sizeof(v)) == 0);             /* parents exist, empty */
    CHECK(st_write(3, "/local/domain/3/y", "own") == 0);               /* below its own path */
    CHECK(st_write(3, "/local/domain/4/y", "other") == -EPERM);       /* not another domain's */
    CHECK(st_write(3, "/local/domain/30/y", "prefix") == -EPERM);     /* 3 is not a prefix of 30 */
    CHECK(st_write(3, "/tool", "x") == -EPERM);
    CHECK(st_write(0, "relative", "x") == -ENOSPC);                   /* paths are absolute */
    CHECK(st_write(0, "/a//b", "x") == -ENOSPC);
    CHECK(st_directory("/local/domain/3", dir, sizeof(dir)) == 4 && !strcmp(dir, "x") && !strcmp(dir + 2, "y"));
    CHECK(st_watch(5, "/local/domain/3", "tok") == 0);
    CHECK(nfired == 1 && !strcmp(fired[0], "5 /local/domain/3 tok"));  /* fires once at once */
    CHECK(st_write(0, "/local/domain/3/x", "again") == 0);
    CHECK(nfired == 2 && !strcmp(fired[1], "5 /local/domain/3/x tok"));
    CHECK(st_write(0, "/local/domain/33", "no") == 0);                 /* not below the watch */
    CHECK(nfired == 2);
    CHECK(st_rm(0, "/local/domain/3") == 0);
    CHECK(nfired == 3 && st_read("/local/domain/3/x", v, sizeof(v)) == -ENOENT);
    CHECK(st_unwatch(5, "/local/domain/3", "tok") == 0 && st_unwatch(5, "/local/domain/3", "tok") == -ENOENT);
    CHECK(st_write(0, "/local/domain/3/x", "quiet") == 0 && nfired == 3);
    int n = 0;                                                         /* the pool runs out cleanly */
    for (char p[40]; n < 1000; n++) {
        snprintf(p, sizeof(p), "/fill/n%d", n);
        if (st_write(0, p, "v") < 0)
            break;
    }
    CHECK(n > 100 && n < 1000);
    CHECK(st_rm(0, "/fill") == 0 && st_write(0, "/fill/again", "v") == 0);  /* and is reusable */
    CHECK(st_watch(6, "/w", "t") == 0 && st_watch(6, "/w", "t") == 0);  /* registered again: one watch */
    int before = nfired;
    CHECK(st_write(0, "/w/x", "1") == 0 && nfired == before + 1);
    CHECK(st_watch(7, "/w/x/deep", "d") == 0);
    before = nfired;
    CHECK(st_rm(0, "/w") == 0 && nfired == before + 2);                /* the removal fires both */
    CHECK(!strcmp(fired[before + 1], "7 /w/x/deep d") || !strcmp(fired[before], "7 /w/x/deep d"));
    st_unwatch_dom(7);
    before = nfired;
    st_unwatch_dom(6);                                                 /* its domain was destroyed */
    CHECK(st_write(0, "/w/x", "2") == 0 && nfired == before);
    static unsigned long long kept[4096], copy[4096];                  /* a store kept elsewhere */
    CHECK(sizeof(kept) >= store_tree_size && store_attach(kept, copy, 0) == -1);
    CHECK(store_attach(kept, copy, 1) == 0 && st_write(0, "/k", "v") == 0 && store_attach(kept, copy, 0) == 0);
    CHECK(st_read("/k", v, sizeof(v)) == 1 && st_read("/fill/again", v, sizeof(v)) == -ENOENT);
    memset(kept, 0x5A, 512);                                           /* a stray write: the mirror repairs it */
    CHECK(store_attach(kept, copy, 0) > 0 && st_read("/k", v, sizeof(v)) == 1 && store_attach(kept, copy, 0) == 0);
    memset(copy, 0, 256);
    CHECK(store_attach(kept, copy, 0) == 0 && store_attach(kept, copy, 0) == 0);   /* and the other way */
    memset((char *)kept + 64, 1, 64);
    memset((char *)copy + 64, 2, 64);
    CHECK(store_attach(kept, copy, 0) == -1);                          /* both copies of a node wrong */
    snprintf(msg, sizeof(msg), "store_tree: ok (%d checks)", checks);
    puts(msg);
    return 0;
}
