// libpq, opened on first use (base/dynlib.h says why).
//
// Include this header instead of <libpq-fe.h>. It declares LibpqApi, a table of pointers to the
// libpq functions cdcpipe calls, and then redirects each name to the table with a macro
// (`PQexec(...)` becomes `(::cdc::pg::Libpq().PQexec)(...)`), so call sites read like plain libpq.
// Nothing links libpq: a function used without an entry in the table fails to link.
//
// Entry point: PgConnection::Connect calls LoadLibpq() and returns its Status (FailedPrecondition,
// naming libpq.so.5 and the package) before any other libpq call can happen; every other libpq call
// goes through a PgConnection. Libpq() on a path that skipped LoadLibpq() loads it then, and aborts
// with the same message if it cannot.
//
// To call a new libpq function: add it to CDC_LIBPQ_FUNCTIONS and add its #define at the end.
#pragma once

#include <libpq-fe.h>

#include "base/dynlib.h"

#define CDC_LIBPQ_FUNCTIONS(X)                                                                              \
  X(PQclear) X(PQcmdTuples) X(PQconnectdbParams) X(PQconninfoFree) X(PQconninfoParse) X(PQconsumeInput)    \
  X(PQerrorMessage) X(PQescapeIdentifier) X(PQescapeLiteral) X(PQexec) X(PQexecParams) X(PQfinish)         \
  X(PQflush) X(PQfname) X(PQfreemem) X(PQgetCopyData) X(PQgetResult) X(PQgetisnull) X(PQgetlength)         \
  X(PQgetvalue) X(PQnfields) X(PQntuples) X(PQputCopyData) X(PQputCopyEnd) X(PQresultErrorField)           \
  X(PQresultErrorMessage) X(PQresultStatus) X(PQserverVersion) X(PQsocket) X(PQstatus)

namespace cdc::pg {

// LoadLibpq opens libpq.so.5 and fills the table (thread-safe, once); Libpq() returns it (base/dynlib.h).
CDC_DYNLIB_DECLARE_API(LibpqApi, CDC_LIBPQ_FUNCTIONS, LoadLibpq, Libpq)

}  // namespace cdc::pg

// The redirections (not in libpq_api.cc, which names the members themselves).
#ifndef CDC_LIBPQ_API_IMPL
#define PQclear (::cdc::pg::Libpq().PQclear)
#define PQcmdTuples (::cdc::pg::Libpq().PQcmdTuples)
#define PQconnectdbParams (::cdc::pg::Libpq().PQconnectdbParams)
#define PQconninfoFree (::cdc::pg::Libpq().PQconninfoFree)
#define PQconninfoParse (::cdc::pg::Libpq().PQconninfoParse)
#define PQconsumeInput (::cdc::pg::Libpq().PQconsumeInput)
#define PQerrorMessage (::cdc::pg::Libpq().PQerrorMessage)
#define PQescapeIdentifier (::cdc::pg::Libpq().PQescapeIdentifier)
#define PQescapeLiteral (::cdc::pg::Libpq().PQescapeLiteral)
#define PQexec (::cdc::pg::Libpq().PQexec)
#define PQexecParams (::cdc::pg::Libpq().PQexecParams)
#define PQfinish (::cdc::pg::Libpq().PQfinish)
#define PQflush (::cdc::pg::Libpq().PQflush)
#define PQfname (::cdc::pg::Libpq().PQfname)
#define PQfreemem (::cdc::pg::Libpq().PQfreemem)
#define PQgetCopyData (::cdc::pg::Libpq().PQgetCopyData)
#define PQgetResult (::cdc::pg::Libpq().PQgetResult)
#define PQgetisnull (::cdc::pg::Libpq().PQgetisnull)
#define PQgetlength (::cdc::pg::Libpq().PQgetlength)
#define PQgetvalue (::cdc::pg::Libpq().PQgetvalue)
#define PQnfields (::cdc::pg::Libpq().PQnfields)
#define PQntuples (::cdc::pg::Libpq().PQntuples)
#define PQputCopyData (::cdc::pg::Libpq().PQputCopyData)
#define PQputCopyEnd (::cdc::pg::Libpq().PQputCopyEnd)
#define PQresultErrorField (::cdc::pg::Libpq().PQresultErrorField)
#define PQresultErrorMessage (::cdc::pg::Libpq().PQresultErrorMessage)
#define PQresultStatus (::cdc::pg::Libpq().PQresultStatus)
#define PQserverVersion (::cdc::pg::Libpq().PQserverVersion)
#define PQsocket (::cdc::pg::Libpq().PQsocket)
#define PQstatus (::cdc::pg::Libpq().PQstatus)
#endif  // CDC_LIBPQ_API_IMPL
