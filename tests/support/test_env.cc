#include "support/test_env.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef CDC_SOURCE_DIR
#error "CDC_SOURCE_DIR must be defined"
#endif

extern char** environ;

namespace cdc::testing {
namespace fs = std::filesystem;

std::string SourceDir() { return CDC_SOURCE_DIR; }
std::string BinaryDir() { return CDC_BINARY_DIR; }
std::string CdcpipeBin() { return BinaryDir() + "/cdcpipe"; }
std::string NodeModulesDir() { return SourceDir() + "/tests/node/node_modules"; }

TempDir::TempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = (tmp && *tmp) ? tmp : "/tmp";
  std::string tmpl = base + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  path_ = buf.data();
  chmod(path_.c_str(), 0777);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string CommandResult::Describe() const {
  std::ostringstream os;
  os << "exit=" << exit_code << "\n--- stdout ---\n" << out.substr(0, 4000) << "\n--- stderr ---\n"
     << err.substr(0, 4000);
  return os.str();
}

namespace {

std::vector<char*> BuildEnv(const std::map<std::string, std::string>& extra, std::vector<std::string>* storage) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) merged[k] = v;
  storage->clear();
  for (const auto& [k, v] : merged) storage->push_back(k + "=" + v);
  std::vector<char*> out;
  for (auto& s : *storage) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                         const std::string& stdin_data) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe(in_pipe) || pipe(out_pipe) || pipe(err_pipe)) throw std::runtime_error("pipe failed");
  std::vector<std::string> env_storage;
  std::vector<char*> envp = BuildEnv(env, &env_storage);
  std::vector<std::string> args_storage = argv;
  std::vector<char*> args;
  for (auto& a : args_storage) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    execvpe(args[0], args.data(), envp.data());
    std::fprintf(stderr, "exec %s failed: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  // Feed stdin from a thread so a chatty child cannot deadlock us.
  std::thread writer([fd = in_pipe[1], &stdin_data] {
    size_t off = 0;
    while (off < stdin_data.size()) {
      ssize_t n = write(fd, stdin_data.data() + off, stdin_data.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    close(fd);
  });
  CommandResult r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  writer.join();
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = DecodeStatus(status);
  return r;
}

CommandResult RunShell(const std::string& script, const std::map<std::string, std::string>& env) {
  return RunCommand({"bash", "-c", script}, env);
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv, const std::string& log_path,
                                     const std::map<std::string, std::string>& env)
    : log_path_(log_path) {
  std::vector<std::string> env_storage;
  std::vector<char*> envp = BuildEnv(env, &env_storage);
  std::vector<std::string> args_storage = argv;
  std::vector<char*> args;
  for (auto& a : args_storage) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    execvpe(args[0], args.data(), envp.data());
    std::fprintf(stderr, "exec %s failed: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
}

BackgroundProcess::~BackgroundProcess() {
  if (Running()) Kill9();
}

bool BackgroundProcess::Running() {
  if (status_ || pid_ <= 0) return false;
  int st;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = DecodeStatus(st);
    return false;
  }
  return true;
}

int BackgroundProcess::Wait(int timeout_ms) {
  WaitFor([&] { return !Running(); }, timeout_ms);
  return status_ ? *status_ : -1;
}

int BackgroundProcess::Stop(int sig, int timeout_ms) {
  if (Running()) kill(pid_, sig);
  return Wait(timeout_ms);
}

void BackgroundProcess::Kill9() {
  if (!Running()) return;
  kill(pid_, SIGKILL);
  int st;
  waitpid(pid_, &st, 0);
  status_ = DecodeStatus(st);
}

std::string BackgroundProcess::Log() const { return ReadFile(log_path_); }

bool WaitFor(const std::function<bool()>& pred, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string QuoteIdent(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

std::string QuoteLiteral(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("''") : std::string(1, ch);
  return out + "'";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// ---------------------------------------------------------------------------------------------------
// PgCluster

namespace {
const char* kPgBin = "/usr/lib/postgresql/15/bin";

std::vector<std::string> AsPostgres(std::vector<std::string> argv) {
  if (geteuid() != 0) return argv;
  std::vector<std::string> out = {"runuser", "-u", "postgres", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

void ChownToPostgres(const std::string& path) {
  if (geteuid() != 0) return;
  passwd* pw = getpwnam("postgres");
  if (!pw) throw std::runtime_error("user 'postgres' does not exist: install postgresql-15 (scripts/setup.sh)");
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0)
    throw std::runtime_error("chown " + path + " failed: " + std::strerror(errno));
}

PgCluster* g_shared_cluster = nullptr;

std::string TrimRight(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace

PgCluster::PgCluster() : PgCluster(Options{}) {}

PgCluster::PgCluster(const Options& opts) {
  dir_ = std::make_unique<TempDir>("cdcpipe-pg");
  ChownToPostgres(dir_->path());
  data_dir_ = dir_->path() + "/data";
  socket_dir_ = dir_->path() + "/sock";
  log_path_ = dir_->path() + "/postgres.log";
  mkdir(socket_dir_.c_str(), 0700);
  ChownToPostgres(socket_dir_);
  InitDb(opts);
  Start();
}

void PgCluster::InitDb(const Options& opts) {
  CommandResult r = RunCommand(AsPostgres({std::string(kPgBin) + "/initdb", "-D", data_dir_, "-U", "postgres",
                                           "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"}));
  if (r.exit_code != 0) throw std::runtime_error("initdb failed: " + r.Describe());
  port_ = FreePort();
  std::ostringstream conf;
  conf << "\n# cdcpipe test cluster\n"
       << "listen_addresses = '127.0.0.1'\n"
       << "port = " << port_ << "\n"
       << "unix_socket_directories = '" << socket_dir_ << "'\n"
       << "wal_level = logical\n"
       << "max_replication_slots = " << opts.max_replication_slots << "\n"
       << "max_wal_senders = 20\n"
       << "max_connections = 100\n"
       << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
       << "shared_buffers = 128MB\n"
       << "wal_sender_timeout = 60s\n"
       << opts.extra_conf << "\n";
  std::ofstream(data_dir_ + "/postgresql.conf", std::ios::app) << conf.str();
  if (opts.password_auth) {
    std::ofstream hba(data_dir_ + "/pg_hba.conf", std::ios::trunc);
    hba << "local all postgres trust\nhost all postgres 127.0.0.1/32 trust\nhost replication postgres "
           "127.0.0.1/32 trust\nlocal all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n"
           "host replication all 127.0.0.1/32 scram-sha-256\n";
  }
  if (geteuid() == 0) RunCommand({"chown", "-R", "postgres:postgres", dir_->path()});
}

void PgCluster::Start() {
  CommandResult r = RunCommand(AsPostgres({std::string(kPgBin) + "/pg_ctl", "-D", data_dir_, "-l", log_path_, "-w",
                                           "-t", "60", "start"}));
  if (r.exit_code != 0) {
    throw std::runtime_error("PostgreSQL failed to start: " + r.Describe() + "\n--- log ---\n" + LogTail());
  }
  running_ = true;
}

void PgCluster::Stop() {
  if (!running_) return;
  RunCommand(AsPostgres({std::string(kPgBin) + "/pg_ctl", "-D", data_dir_, "-m", "fast", "-w", "stop"}));
  running_ = false;
}

void PgCluster::Restart() {
  Stop();
  Start();
}

PgCluster::~PgCluster() {
  if (running_) {
    RunCommand(AsPostgres({std::string(kPgBin) + "/pg_ctl", "-D", data_dir_, "-m", "immediate", "-w", "stop"}));
  }
}

PgCluster& PgCluster::Shared() {
  // Leaked on purpose and torn down by an atexit handler, so that gtest failures and exit() paths
  // still stop the cluster.
  static PgCluster* cluster = [] {
    g_shared_cluster = new PgCluster();
    std::atexit([] {
      delete g_shared_cluster;
      g_shared_cluster = nullptr;
    });
    return g_shared_cluster;
  }();
  return *cluster;
}

std::string PgCluster::Conninfo(const std::string& db) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + db;
}

std::string PgCluster::Uri(const std::string& db) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

std::map<std::string, std::string> PgCluster::Env(const std::string& db) const {
  return {{"PGHOST", "127.0.0.1"}, {"PGPORT", std::to_string(port_)}, {"PGUSER", "postgres"}, {"PGDATABASE", db}};
}

CommandResult PgCluster::PsqlResult(const std::string& db, const std::string& sql) const {
  return RunCommand({"psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql}, Env(db));
}

std::string PgCluster::Psql(const std::string& db, const std::string& sql) const {
  CommandResult r = PsqlResult(db, sql);
  EXPECT_EQ(r.exit_code, 0) << "psql failed for: " << sql << "\n" << r.Describe();
  return TrimRight(r.out);
}

std::string PgCluster::CreateTestDatabase() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "t_";
  if (info) name += std::string(info->test_suite_name()) + "_" + info->name();
  for (auto& c : name) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  name = name.substr(0, 60);
  DropSlots(name);
  PsqlResult("postgres", "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  Psql("postgres", "CREATE DATABASE " + name);
  return name;
}

void PgCluster::DropSlots(const std::string& db) {
  PsqlResult("postgres",
             "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = '" + db +
                 "' AND active_pid IS NOT NULL");
  PsqlResult("postgres", "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '" +
                             db + "' AND NOT active");
}

std::string PgCluster::LogTail() const {
  std::string log = ReadFile(log_path_);
  return log.size() > 4000 ? log.substr(log.size() - 4000) : log;
}

// ---------------------------------------------------------------------------------------------------
// Node peers

CommandResult RunNode(const std::string& script, const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {"node", SourceDir() + "/tests/node/" + script};
  argv.insert(argv.end(), args.begin(), args.end());
  auto e = env;
  e["NODE_PATH"] = NodeModulesDir();
  return RunCommand(argv, e);
}

std::string DuckDbQuery(const std::string& sql) {
  CommandResult r = RunNode("duckdb_query.mjs", {sql});
  EXPECT_EQ(r.exit_code, 0) << "DuckDB query failed: " << sql << "\n" << r.Describe();
  return TrimRight(r.out);
}

}  // namespace cdc::testing
