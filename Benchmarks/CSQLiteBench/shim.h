#ifndef TROVE_SQLITE_BENCH_SHIM_H
#define TROVE_SQLITE_BENCH_SHIM_H

/* The system SQLite (Debian's libsqlite3-dev), the same header and library as the root
   package's CTroveSQLite, for the raw loop the benchmarks compare SQLiteStore against. */
#include <sqlite3.h>

/* SQLITE_TRANSIENT and SQLITE_STATIC are macros that Swift cannot import. */

/* Binds text that SQLite copies. */
static inline int bench_sqlite_bind_text_copy(sqlite3_stmt *statement, int index, const char *text, int length) {
    return sqlite3_bind_text(statement, index, text, length, SQLITE_TRANSIENT);
}

/* Binds bytes that SQLite reads in place: they must stay valid until the statement is reset. */
static inline int bench_sqlite_bind_blob_borrowed(sqlite3_stmt *statement, int index, const void *bytes, int length) {
    return sqlite3_bind_blob(statement, index, bytes, length, SQLITE_STATIC);
}

#endif
