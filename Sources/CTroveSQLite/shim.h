#ifndef TROVE_SQLITE_SHIM_H
#define TROVE_SQLITE_SHIM_H

#include <sqlite3.h>

/* SQLITE_TRANSIENT and SQLITE_STATIC are macros that Swift cannot import. */

/*
 * Turns off SQLite's count of the memory it holds, which takes a global mutex on every
 * allocation. Only before SQLite is initialized; SQLITE_MISUSE after, which changes nothing.
 */
static inline int trove_sqlite_stop_counting_memory(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* Binds text that SQLite copies. */
static inline int trove_sqlite_bind_text_copy(sqlite3_stmt *statement, int index, const char *text, int length) {
    return sqlite3_bind_text(statement, index, text, length, SQLITE_TRANSIENT);
}

/* Binds bytes that SQLite reads in place: they must stay valid until the statement is reset. */
static inline int trove_sqlite_bind_blob_borrowed(sqlite3_stmt *statement, int index, const void *bytes, int length) {
    return sqlite3_bind_blob(statement, index, bytes, length, SQLITE_STATIC);
}

/*
 * Whether the `count` bytes at `bytes` are a valid Trove key, by the rules of
 * StoreKey(validating:) (keep the two in step): well-formed UTF-8 of 1 to 1,024 bytes, no
 * control character (U+0000 to U+001F, U+007F to U+009F), and segments between '/' none of
 * which is empty, "." or "..".
 */
static inline int trove_is_valid_key(const unsigned char *bytes, int count) {
    if (bytes == 0 || count <= 0 || count > 1024) return 0;
    int segment = 0;
    for (int index = 0; index <= count; ) {
        if (index == count || bytes[index] == '/') {
            int length = index - segment;
            if (length == 0) return 0;
            if (bytes[segment] == '.' && (length == 1 || (length == 2 && bytes[segment + 1] == '.'))) return 0;
            segment = index + 1;
            index += 1;
            continue;
        }
        unsigned char lead = bytes[index];
        if (lead < 0x80) {
            if (lead < 0x20 || lead == 0x7F) return 0;
            index += 1;
            continue;
        }
        /* Well-formed sequences, as in table 3-7 of the Unicode standard. */
        int trailing;
        unsigned char low = 0x80, high = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) trailing = 1;
        else if (lead == 0xE0) { trailing = 2; low = 0xA0; }
        else if (lead == 0xED) { trailing = 2; high = 0x9F; }
        else if (lead >= 0xE1 && lead <= 0xEF) trailing = 2;
        else if (lead == 0xF0) { trailing = 3; low = 0x90; }
        else if (lead >= 0xF1 && lead <= 0xF3) trailing = 3;
        else if (lead == 0xF4) { trailing = 3; high = 0x8F; }
        else return 0;
        if (count - index <= trailing) return 0;
        if (bytes[index + 1] < low || bytes[index + 1] > high) return 0;
        for (int next = 2; next <= trailing; next++) {
            if (bytes[index + next] < 0x80 || bytes[index + next] > 0xBF) return 0;
        }
        if (lead == 0xC2 && bytes[index + 1] <= 0x9F) return 0; /* U+0080 to U+009F */
        index += trailing + 1;
    }
    return 1;
}

/* The SQL function trove_is_key(name): 1 when `name` is text that is a valid Trove key, else 0. */
static inline void trove_sqlite_is_key(sqlite3_context *context, int argc, sqlite3_value **argv) {
    (void)argc;
    if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
        sqlite3_result_int(context, 0);
        return;
    }
    const unsigned char *text = sqlite3_value_text(argv[0]);
    sqlite3_result_int(context, trove_is_valid_key(text, sqlite3_value_bytes(argv[0])));
}

/* Adds the store's SQL functions (trove_is_key) to a connection. */
static inline int trove_sqlite_add_functions(sqlite3 *connection) {
    return sqlite3_create_function_v2(connection, "trove_is_key", 1,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, 0,
                                      trove_sqlite_is_key, 0, 0, 0);
}

#endif
