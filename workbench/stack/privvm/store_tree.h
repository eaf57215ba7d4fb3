/* The configuration store's tree and watches (PrivVM-internal API; the wire protocol is in
 * include/store.h).  `dom` is the requesting domain: non-privileged domains may write only below
 * /local/domain/<dom>.  Pure logic: also compiled for the host and tested there
 * (store_tree_test.c). */
#ifndef PRIVVM_STORE_TREE_H
#define PRIVVM_STORE_TREE_H
#include "types.h"

void store_init(void);
int store_attach(void *mem, void *mirror, int fresh);
                                          /* use store_tree_size bytes at mem, and as many at mirror
                                             (NULL: none) for a copy of each entry (fresh: empty
                                             both); -> entries repaired from the mirror (0..), or -1
                                             if what is there is no store or both copies are wrong */
extern const u32 store_tree_size;
u32 store_sum(const void *p, u32 n);      /* checksum of n bytes (n, p: multiples of 4) */
#define STORE_KEEP_WORDS 2400             /* u64 words that hold store_tree_size bytes (checked) */
int st_read(const char *path, char *val, u32 size);            /* -> length or -errno */
int st_write(u32 dom, const char *path, const char *val);      /* -> 0 or -errno */
int st_rm(u32 dom, const char *path);
int st_directory(const char *path, char *buf, u32 size);       /* -> bytes (names NUL separated) */
int st_watch(u32 dom, const char *path, const char *token);    /* fires once right away */
int st_unwatch(u32 dom, const char *path, const char *token);
void st_unwatch_dom(u32 dom);                                   /* a destroyed domain's watches */
typedef int (*st_print_fn)(const char *fmt, ...);
void st_dump(st_print_fn print);                                /* every node with a value */

/* Provided by the server (main.c): deliver a watch event to domain `dom`; stop when a kept entry
 * does not copy right (this instance is failing). */
void store_fire(u32 dom, const char *path, const char *token);
void store_corrupt(const char *what);
#endif
