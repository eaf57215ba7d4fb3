/* Block split-driver ring (one shared page, granted by the frontend, mapped by the backend).
 * Requests and responses each have their own array; the producer indices are shared and run
 * freely, the consumer indices are private to each side.  A frontend never has more than
 * BLKIF_RING_SIZE requests outstanding, so neither array can overflow.  Data never sits in the
 * ring: each request names a page the frontend granted to the backend, and the backend moves the
 * data by grant copy.
 *
 * Backend parameters (in its store directory): sectors (the virtual disk's size in 512-byte
 * sectors; the frontend addresses sectors 0..sectors-1, which the backend maps onto its region of
 * the physical disk and never lets it leave).  Frontend: ring-ref, event-channel. */
#ifndef BLKIF_ABI_H
#define BLKIF_ABI_H
#include "types.h"

#define BLKIF_RING_SIZE 8
#define BLKIF_MAX_SECTORS (PAGE_SIZE / DISK_SECTOR)   /* one granted page per request */

enum blkif_op { BLKIF_OP_READ = 0, BLKIF_OP_WRITE = 1 };
enum blkif_status { BLKIF_RSP_OKAY = 0, BLKIF_RSP_ERROR = -1 };

struct blkif_request {
    u32 id;           /* echoed in the response (the frontend's shadow index) */
    u32 op;           /* enum blkif_op */
    u32 sector;       /* first sector of the virtual disk */
    u32 nsectors;     /* 1..BLKIF_MAX_SECTORS */
    u32 gref;         /* page with the data (write) or for it (read), offset 0 */
};
struct blkif_response {
    u32 id;
    u32 op;
    s32 status;       /* enum blkif_status */
};
struct blkif_ring {
    u32 req_prod;                               /* written by the frontend */
    u32 rsp_prod;                               /* written by the backend */
    struct blkif_request req[BLKIF_RING_SIZE];
    struct blkif_response rsp[BLKIF_RING_SIZE];
};
#endif
