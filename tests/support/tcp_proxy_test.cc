// TcpProxy (support/tcp_proxy.h) against PostgreSQL: forwarding, black-holing established
// connections while new ones still work, black-holing new ones, closing all.
#include "support/tcp_proxy.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include "pg/connection.h"
#include "support/test_env.h"

namespace cdc::testing {
namespace {

std::string Through(const TcpProxy& proxy, const std::string& db) {
  return "host=127.0.0.1 port=" + std::to_string(proxy.port()) + " user=postgres dbname=" + db + " connect_timeout=5";
}

TEST(TcpProxyTest, ForwardsBlackHolesAndCloses) {
  PgCluster& pg = PgCluster::Shared();
  TcpProxy proxy("127.0.0.1", pg.port());
  ASSERT_GT(proxy.port(), 0);
  auto held = pg::PgConnection::Connect(Through(proxy, "postgres"));
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  ASSERT_EQ(held->Exec("SELECT 40 + 2")->Get(0, 0), "42");
  EXPECT_EQ(proxy.accepted(), 1u);
  EXPECT_EQ(proxy.forwarding(), 1);

  // Black-holed: the query goes out (the proxy's kernel takes it) and no answer ever comes back; the
  // connection is not closed.
  EXPECT_EQ(proxy.BlackHoleAll(), 1);
  EXPECT_EQ(proxy.forwarding(), 0);
  PGconn* raw = held->raw();
  // A simple-protocol Query message for "SELECT 1", written on the socket.
  const char query[] = "Q\0\0\0\x0dSELECT 1";
  ASSERT_EQ(send(PQsocket(raw), query, sizeof query, MSG_NOSIGNAL), static_cast<ssize_t>(sizeof query));
  pollfd pfd{PQsocket(raw), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 300), 0) << "a black-holed connection delivered something";
  EXPECT_EQ(PQstatus(raw), CONNECTION_OK);

  // A new connection is forwarded as before.
  auto fresh = pg::PgConnection::Connect(Through(proxy, "postgres"));
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(fresh->Exec("SELECT 'new'")->Get(0, 0), "new");
  EXPECT_EQ(proxy.accepted(), 2u);

  // New connections black-holed too: connecting times out (connect_timeout) instead of failing fast.
  proxy.set_black_hole_new(true);
  auto stuck = pg::PgConnection::Connect(Through(proxy, "postgres") + " connect_timeout=2");
  EXPECT_FALSE(stuck.ok());
  EXPECT_EQ(proxy.accepted(), 3u);
  proxy.set_black_hole_new(false);

  // CloseAll: the held connection sees its peer close.
  proxy.CloseAll();
  ASSERT_TRUE(WaitFor([&] { return poll(&pfd, 1, 0) == 1; }, 10000));
  EXPECT_EQ(PQconsumeInput(raw), 0);
  auto after = fresh->Exec("SELECT 1");
  EXPECT_FALSE(after.ok());
}

}  // namespace
}  // namespace cdc::testing
