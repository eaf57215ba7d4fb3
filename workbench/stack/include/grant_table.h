/* ABI of grant_table_op(cmd, arg): a domain grants one of its pages to another domain, which may map
 * it (the page becomes reachable through one of the grantee's PMP map entries) or copy to/from it. */
#ifndef GRANT_TABLE_ABI_H
#define GRANT_TABLE_ABI_H
#include "types.h"

#define NR_GRANTS 32
#define GREF_STORE 0   /* reserved: the config-store ring page, granted to the PrivVM at creation */

enum gnttab_cmd { GNTTABOP_grant = 0, GNTTABOP_end = 1, GNTTABOP_map = 2, GNTTABOP_unmap = 3,
                  GNTTABOP_copy = 4 };

struct gnttab_grant {
    u32 domid;        /* IN: grantee */
    u32 addr;         /* IN: page address in the caller's slot (page aligned) */
    u32 readonly;     /* IN */
    u32 ref;          /* OUT */
};
struct gnttab_end {
    u32 ref;          /* IN: fails with -EBUSY while mapped */
};
struct gnttab_map {
    u32 dom;          /* IN: granter */
    u32 ref;          /* IN */
    u32 addr;         /* OUT: the page's address, now accessible to the caller */
    u32 handle;       /* OUT: for unmap */
};
struct gnttab_unmap {
    u32 handle;       /* IN */
};
/* One side of a copy: a grant reference (domid = granter) or, with domid = DOMID_SELF, an address in
 * the caller's own slot (then `ref` is the address). */
struct gnttab_copy_ptr {
    u32 ref;
    u32 domid;
    u32 offset;
};
struct gnttab_copy {
    struct gnttab_copy_ptr src;  /* IN */
    struct gnttab_copy_ptr dst;  /* IN */
    u32 len;                     /* IN: offset + len must stay within one page */
    s32 status;                  /* OUT: 0 or -errno (also returned in a0) */
};
#endif
