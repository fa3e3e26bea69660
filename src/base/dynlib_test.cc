#include "base/dynlib.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace cdc {
namespace {

using CosFn = double (*)(double);

TEST(DynLibTest, MissingLibraryNamesItWhatItIsForAndThePackage) {
  DynLib lib("libcdcpipe-no-such-library.so.7", "testing the loader", "cdcpipe-test-package");
  CosFn cos_fn = nullptr;
  const DynLib::Symbol symbols[] = {{"cos", &cos_fn}};
  Status s = lib.Load(symbols);
  ASSERT_TRUE(s.IsFailedPrecondition()) << s.ToString();
  EXPECT_NE(s.message().find("cannot load libcdcpipe-no-such-library.so.7"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("needed for testing the loader"), std::string::npos) << s.message();
  // dlerror()'s own text.
  EXPECT_NE(s.message().find("cannot open shared object file"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("install the Debian package cdcpipe-test-package"), std::string::npos) << s.message();
  EXPECT_FALSE(lib.loaded());
  EXPECT_EQ(cos_fn, nullptr);
  // Tried once: the same answer again.
  EXPECT_EQ(lib.Load(symbols).ToString(), s.ToString());
}

TEST(DynLibTest, MissingSymbolsAreListed) {
  DynLib lib("libm.so.6", "testing the loader", "libc6");
  CosFn cos_fn = nullptr;
  CosFn missing1 = nullptr, missing2 = nullptr;
  const DynLib::Symbol symbols[] = {{"cos", &cos_fn}, {"cdc_no_such_fn", &missing1}, {"cdc_no_such_fn2", &missing2}};
  Status s = lib.Load(symbols);
  ASSERT_TRUE(s.IsFailedPrecondition()) << s.ToString();
  EXPECT_NE(s.message().find("libm.so.6, needed for testing the loader, lacks 2 function(s) cdcpipe uses "
                             "(cdc_no_such_fn, cdc_no_such_fn2)"),
            std::string::npos)
      << s.message();
  EXPECT_FALSE(lib.loaded());
}

TEST(DynLibTest, LoadsOnceAndFillsTheSlots) {
  DynLib lib("libm.so.6", "testing the loader", "libc6");
  CosFn cos_fn = nullptr;
  const DynLib::Symbol symbols[] = {{"cos", &cos_fn}};
  std::vector<std::thread> threads;
  std::vector<Status> results(4);
  for (size_t i = 0; i < results.size(); ++i) threads.emplace_back([&, i] { results[i] = lib.Load(symbols); });
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(lib.loaded());
  ASSERT_NE(cos_fn, nullptr);
  EXPECT_DOUBLE_EQ(cos_fn(0.0), 1.0);
}

TEST(DynLibDeathTest, LoadOrDieAbortsWithTheMessage) {
  DynLib lib("libcdcpipe-no-such-library.so.7", "testing the loader", "cdcpipe-test-package");
  CosFn cos_fn = nullptr;
  const DynLib::Symbol symbols[] = {{"cos", &cos_fn}};
  EXPECT_DEATH(lib.LoadOrDie(symbols), "cdcpipe: fatal: .*cannot load libcdcpipe-no-such-library.so.7, needed for "
                                       "testing the loader");
}

}  // namespace
}  // namespace cdc
