// What ThreadBudget tunes at start: glibc's malloc arenas, and where Swift tasks run.
#include <malloc.h>

// The Swift runtime's hook for where the global executor's jobs run (swift/Runtime/ConcurrencyHooks.def:
// a swiftcall `void (*)(Job *, void (*original)(Job *))`, null unless installed). Declared here, not
// found with dlsym: the shipped binary exports no symbols (scripts/build-shipped.sh). Read and written
// through functions because Swift sees a C global as shared mutable state; the daemon writes it once,
// before its first task.
extern void *_Nullable swift_task_enqueueGlobal_hook;

static inline void *_Nullable vitals_enqueue_global_hook(void) { return swift_task_enqueueGlobal_hook; }
static inline void vitals_set_enqueue_global_hook(void *_Nullable hook) { swift_task_enqueueGlobal_hook = hook; }
