/* Hypercall error codes (negative in a0), numbered as Linux/Xen so they read familiar. */
#ifndef HVERRNO_H
#define HVERRNO_H
#define EPERM    1
#define ENOENT   2
#define ESRCH    3
#define EAGAIN  11
#define ENOMEM  12
#define EFAULT  14
#define EBUSY   16
#define EEXIST  17
#define EINVAL  22
#define ENODEV  19
#define ENOSPC  28
#define ENOSYS  38
#endif
