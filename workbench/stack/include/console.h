/* ABI of console_io(cmd, len, buf): write len bytes of buf (in the caller's slot), line buffered;
 * the hypervisor prefixes each line with "(dN) ". Returns bytes written or -errno. */
#ifndef CONSOLE_ABI_H
#define CONSOLE_ABI_H
enum console_cmd { CONSOLEIO_write = 0 };
#define CONSOLE_MAX_WRITE 256
#endif
