/* test_error.c - every code in REACTOR_ERRNO_MAP has its own message and name; other values
 * (0 aside) read "unknown error". */
#include "fixture.h"

#include <stdio.h>
#include <string.h>

typedef struct error__row {
    int code;
    const char *name;
    const char *msg;
} error__row;

static const error__row error__rows[] = {
#define ERROR__ROW(name, value, msg) {REACTOR_##name, "REACTOR_" #name, msg},
    REACTOR_ERRNO_MAP(ERROR__ROW)
#undef ERROR__ROW
};
#define ERROR__N (sizeof error__rows / sizeof error__rows[0])

static void every_code_has_its_message_and_name(void **state)
{
    (void)state;
    for (size_t i = 0; i < ERROR__N; i++) {
        assert_true(error__rows[i].code < 0);
        assert_string_equal(reactor_strerror(error__rows[i].code), error__rows[i].msg);
        assert_string_equal(reactor_err_name(error__rows[i].code), error__rows[i].name);
    }
}

static void codes_are_distinct_and_messages_differ(void **state)
{
    (void)state;
    for (size_t i = 0; i < ERROR__N; i++) {
        for (size_t j = i + 1; j < ERROR__N; j++) {
            assert_int_not_equal(error__rows[i].code, error__rows[j].code);
            assert_true(strcmp(reactor_strerror(error__rows[i].code),
                               reactor_strerror(error__rows[j].code)) != 0);
        }
    }
}

static void codes_keep_their_published_values(void **state)
{
    (void)state;
    /* Values are part of the ABI ("the same on every OS"): pin them. */
    assert_int_equal(REACTOR_EINVAL, -1);
    assert_int_equal(REACTOR_ENOMEM, -2);
    assert_int_equal(REACTOR_EBADCHN, -3);
    assert_int_equal(REACTOR_ENOSPC, -4);
    assert_int_equal(REACTOR_EEXIST, -5);
    assert_int_equal(REACTOR_EBADF, -6);
    assert_int_equal(REACTOR_ENOTSUP, -7);
    assert_int_equal(REACTOR_ESYS, -8);
    assert_int_equal(REACTOR_EBADTIMER, -9);
    assert_int_equal(REACTOR_EBUSY, -10);
}

static void success_and_unknown_values_have_their_own_text(void **state)
{
    (void)state;
    assert_string_equal(reactor_strerror(0), "success");
    assert_string_equal(reactor_err_name(0), "REACTOR_OK");
    const int unknown[] = {1, 12345, -11, -1000, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_string_equal(reactor_strerror(unknown[i]), "unknown error");
        assert_string_equal(reactor_err_name(unknown[i]), "REACTOR_EUNKNOWN");
    }
}

static void version_number_and_string_agree(void **state)
{
    (void)state;
    unsigned v = reactor_version();
    char buf[32];
    snprintf(buf, sizeof buf, "%u.%u.%u", v >> 16, (v >> 8) & 0xFFu, v & 0xFFu);
    assert_string_equal(reactor_version_string(), buf);
    assert_int_equal(v, (REACTOR_VERSION_MAJOR << 16) | (REACTOR_VERSION_MINOR << 8) |
                            REACTOR_VERSION_PATCH);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_has_its_message_and_name),
        cmocka_unit_test(codes_are_distinct_and_messages_differ),
        cmocka_unit_test(codes_keep_their_published_values),
        cmocka_unit_test(success_and_unknown_values_have_their_own_text),
        cmocka_unit_test(version_number_and_string_agree),
    };
    return sup_main(argc, argv, "unit.error", tests, sizeof tests / sizeof tests[0], 0);
}
