/* error.c - messages and names for the REACTOR_E* codes, from the one X-macro list. */
#include "reactor.h"

const char *reactor_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define ERROR__MSG(name, value, msg)                                                               \
    case REACTOR_##name:                                                                           \
        return msg;
        REACTOR_ERRNO_MAP(ERROR__MSG)
#undef ERROR__MSG
    default:
        return "unknown error";
    }
}

const char *reactor_err_name(int err)
{
    switch (err) {
    case 0:
        return "REACTOR_OK";
#define ERROR__NAME(name, value, msg)                                                              \
    case REACTOR_##name:                                                                           \
        return "REACTOR_" #name;
        REACTOR_ERRNO_MAP(ERROR__NAME)
#undef ERROR__NAME
    default:
        return "REACTOR_EUNKNOWN";
    }
}

unsigned reactor_version(void)
{
    return (REACTOR_VERSION_MAJOR << 16) | (REACTOR_VERSION_MINOR << 8) | REACTOR_VERSION_PATCH;
}

#define ERROR__STR2(x) #x
#define ERROR__STR(x) ERROR__STR2(x)

const char *reactor_version_string(void)
{
    return ERROR__STR(REACTOR_VERSION_MAJOR) "." ERROR__STR(REACTOR_VERSION_MINOR) "." ERROR__STR(
        REACTOR_VERSION_PATCH);
}
