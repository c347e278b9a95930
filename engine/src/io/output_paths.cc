#include "mlpbench/output_paths.h"

#include "io/run_lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "mlpbench/errors.h"
#include "io/input_file.h"

namespace mlpbench {
namespace fs = std::filesystem;
namespace {

std::string errno_text(int err) { return std::strerror(err); }

fs::path folder_of(const std::string& path) {
  const fs::path p(path);
  return p.has_parent_path() ? p.parent_path() : fs::path(".");
}

// The temporary file being written, for remove_partial_output_now() (a second signal's
// handler): a fixed buffer and a flag are all a signal handler may safely read.
char g_partial[4096];
volatile std::sig_atomic_t g_partial_set = 0;

// A complete temporary file beside `path` (fsynced, mode 0644); returns its name. With
// `keep_fd`, the descriptor stays open for writing and is stored there.
std::string write_temporary(const std::string& path, const std::string& content, int* keep_fd = nullptr) {
  const fs::path dir = folder_of(path);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(path + ": cannot create folder " + dir.string() + ": " + ec.message());
  std::string tmp = (dir / ("." + fs::path(path).filename().string() + ".XXXXXX")).string();
  const int fd = mkstemp(tmp.data());
  if (fd < 0) throw std::runtime_error(path + ": cannot write in " + dir.string() + ": " + errno_text(errno));
  if (tmp.size() < sizeof g_partial) {
    std::memcpy(g_partial, tmp.c_str(), tmp.size() + 1);
    g_partial_set = 1;
  }
  size_t done = 0;
  bool ok = true;
  while (ok && done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  int saved = ok ? 0 : errno;
  if (ok && (fchmod(fd, 0644) != 0 || fsync(fd) != 0)) {
    ok = false;
    saved = errno;
  }
  if (ok && keep_fd) {
    *keep_fd = fd;
    return tmp;
  }
  if (::close(fd) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    throw std::runtime_error(path + ": cannot write: " + errno_text(saved ? saved : EIO));
  }
  return tmp;
}

void sync_folder(const fs::path& dir) {
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);  // makes the link or rename itself durable
    ::close(dfd);
  }
}

std::string absolute_of(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path), ec);
  if (ec) p = fs::absolute(path).lexically_normal();
  return p.string();
}

}  // namespace

void remove_partial_output_now() {
  if (g_partial_set) ::unlink(g_partial);
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  if (::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0) {
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  }
  return absolute_of(a) == absolute_of(b);
}

void write_output(const std::string& path, const std::string& content, WriteMode mode) {
  ::close(write_output_open(path, content, mode));
}

int write_output_open(const std::string& path, const std::string& content, WriteMode mode) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (const char* kind = special_file_kind(st.st_mode)) {
      throw std::runtime_error(path + ": is " + kind + "; an output must be a regular file");
    }
    if (mode == WriteMode::kCreate) throw OutputExists(path + ": exists already");
  }
  struct Finished {  // the temporary file is in place, or removed, when this returns or throws
    ~Finished() { g_partial_set = 0; }
  } finished;
  int fd = -1;
  const std::string tmp = write_temporary(path, content, &fd);
  auto fail = [&](const std::string& message, bool exists) {
    ::close(fd);
    ::unlink(tmp.c_str());
    if (exists) throw OutputExists(message);
    throw std::runtime_error(message);
  };
  if (mode == WriteMode::kCreate) {
    // link(2) fails if anything is at `path`: of two racing processes exactly one wins.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      if (err == EEXIST) fail(path + ": exists already (created by another process?)", true);
      fail(path + ": cannot create: " + errno_text(err), false);
    }
    ::unlink(tmp.c_str());
  } else {
    // A special file that appeared since the check above is still refused (lstat: the link
    // itself would be replaced, never the device it points to).
    if (::lstat(path.c_str(), &st) == 0 && special_file_kind(st.st_mode)) {
      fail(path + ": is " + special_file_kind(st.st_mode) + "; an output must be a regular file", false);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(path + ": cannot write: " + errno_text(errno), false);
  }
  sync_folder(folder_of(path));
  return fd;  // now the descriptor of the file at `path`
}

void check_outputs(const std::vector<PlannedOutput>& outputs, const std::vector<std::string>& inputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const PlannedOutput& o = outputs[i];
    auto fail = [&](const std::string& why) { throw ConfigError(o.option + ": " + o.path + ": " + why); };
    if (o.path.empty()) fail("an empty path");
    if (o.path.back() == '/') fail("names a folder; give a file name");
    for (size_t j = 0; j < i; ++j) {
      if (same_file(o.path, outputs[j].path)) fail("is also the " + outputs[j].option + " file; give each output its own path");
    }
    for (const std::string& in : inputs) {
      if (!in.empty() && same_file(o.path, in)) fail("is an input of this run (" + in + "); an output may not replace it");
    }
    if (o.locked) {
      const std::string lock = run_lock_path(o.path);
      auto fail_lock = [&](const std::string& why) { fail("its lock file " + lock + " " + why + "; write this output elsewhere"); };
      for (const PlannedOutput& other : outputs) {
        if (same_file(lock, other.path)) fail_lock("would be the " + other.option + " file");
      }
      for (const std::string& in : inputs) {
        if (!in.empty() && same_file(lock, in)) fail_lock("is an input of this run (" + in + ")");
      }
      const std::string unusable = unusable_lock_file(lock);
      if (!unusable.empty()) fail_lock("exists and " + unusable + " (a run removes its lock when it ends)");
    }
    struct stat st {};
    if (::stat(o.path.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) fail("is a folder; give a file name");
      if (const char* kind = special_file_kind(st.st_mode)) {
        fail(std::string("is ") + kind + "; outputs are never written over special files, not even with --force");
      }
      if (!o.may_replace) fail("exists already; pass --force to replace it");
    } else if (const int err = errno; err == EACCES) {
      fail("permission denied (a folder on the path cannot be searched)");
    } else if (err == ENOTDIR) {
      fail("a part of the path is not a folder");
    } else if (err == ENOENT && ::lstat(o.path.c_str(), &st) == 0 && S_ISLNK(st.st_mode) && !o.may_replace) {
      // A link to nothing: exclusive creation would fail on it after training.
      fail("exists already (a symbolic link to a missing file); pass --force to replace it");
    }
    // The folder must take a new file now, not only after hours of training.
    const fs::path dir = folder_of(o.path);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) fail("cannot create its folder " + dir.string() + ": " + ec.message());
    std::string probe = (dir / ".mlpbench-write-test.XXXXXX").string();
    const int fd = mkstemp(probe.data());
    if (fd < 0) fail("its folder " + dir.string() + " is not writable: " + errno_text(errno));
    ::close(fd);
    ::unlink(probe.c_str());
  }
}

}  // namespace mlpbench
