/* Named state dumps, one per subsystem, safe without locks (they may run during a panic).  The
 * workbench calls them by name (system.hv.dump("evtchn")); the table is the only list of names. */
#include "hv.h"

struct dumper {
    const char *name;
    void (*fn)(void);
};

static const struct dumper dumpers[] = {
    { "domains", domain_dump },
    { "sched", sched_dump },
    { "timers", timer_dump },
    { "evtchn", evtchn_dump },
    { "grants", gnttab_dump },
    { "frames", frame_dump },
    { "heap", heap_dump },
    { "pmp", pmp_dump },
    { "console", console_dump },
    { "irqs", physdev_dump },
};

/* Run the dump called `name`, or every dump for "all". */
void hv_dump(const char *name)
{
    for (u32 i = 0; i < ARRAY_SIZE(dumpers); i++)
        if (!strcmp(name, "all") || !strcmp(name, dumpers[i].name))
            dumpers[i].fn();
}

/* Entry point for a debugger or the workbench: set dump_request to a name, call hv_dump_request. */
char dump_request[16];
void hv_dump_request(void) { hv_dump(dump_request); }
