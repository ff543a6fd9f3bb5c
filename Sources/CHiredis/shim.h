/* Take the C library from Swift's Glibc module instead of including its headers textually:
   otherwise this module carries its own copies of `struct timeval`, `timespec` and friends, and
   the compiler then attributes the C library's structs (even `struct stat` used elsewhere in
   Vitals) to CNIOLinux, failing the build under MemberImportVisibility. */
#pragma clang module import SwiftGlibc
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

/* Millisecond wrappers: they keep `struct timeval` out of Swift, where importing it through this
   module and through Glibc/CNIOLinux at once confuses MemberImportVisibility's defining-module check. */
static inline struct timeval vitals_hiredis_timeval(long long milliseconds) {
    struct timeval tv;
    tv.tv_sec = (time_t)(milliseconds / 1000);
    tv.tv_usec = (suseconds_t)((milliseconds % 1000) * 1000);
    return tv;
}

static inline redisContext *vitals_redisConnectWithTimeoutMs(const char *host, int port, long long milliseconds) {
    return redisConnectWithTimeout(host, port, vitals_hiredis_timeval(milliseconds));
}

static inline redisContext *vitals_redisConnectUnixWithTimeoutMs(const char *path, long long milliseconds) {
    return redisConnectUnixWithTimeout(path, vitals_hiredis_timeval(milliseconds));
}

static inline int vitals_redisSetTimeoutMs(redisContext *c, long long milliseconds) {
    return redisSetTimeout(c, vitals_hiredis_timeval(milliseconds));
}

/* Small wrappers so Swift code using hiredis needs nothing from Glibc directly (see above). */
#include <errno.h>
#include <sys/socket.h>

static inline int vitals_shutdown_socket(int fd) {
    return shutdown(fd, SHUT_RDWR);
}

static inline int vitals_errno_is_timeout(void) {
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == ETIMEDOUT;
}
