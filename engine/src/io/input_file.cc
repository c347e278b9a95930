#include "io/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mlpbench {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw InputFileError(path + ": " + why);
}


[[noreturn]] void fail_errno(const std::string& path, int err, const char* doing) {
  if (err == ENOENT) fail(path, "file not found");
  if (err == ENOTDIR) fail(path, "file not found (a part of the path is not a folder)");
  if (err == EACCES) {
    fail(path, std::string("permission denied (cannot ") + doing + ")" +
                   ": the file is not readable or a folder on its path cannot be searched");
  }
  fail(path, std::string("cannot ") + doing + ": " + std::strerror(err));
}

void require_regular(const std::string& path, const struct stat& st, const std::string& what) {
  if (!S_ISREG(st.st_mode)) fail(path, std::string("is ") + (special_file_kind(st.st_mode) ? special_file_kind(st.st_mode) : "not a regular file") + ", expected " + what);
}

}  // namespace

const char* special_file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return nullptr;
}

int open_input_file(const std::string& path, const std::string& what) {
  if (path.empty()) fail("\"\"", "an empty path, expected " + what);
  // stat first: opening a device can have side effects and a socket cannot be opened at all.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail_errno(path, errno, "open it");
  require_regular(path, st, what);
  // O_NONBLOCK: if the path is swapped for a FIFO after the stat, open() still returns at once.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) fail_errno(path, errno, "open it");
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail_errno(path, err, "stat it");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    require_regular(path, st, what);
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

std::string read_input_file(const std::string& path, uint64_t max_bytes, const std::string& what) {
  const int fd = open_input_file(path, what);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_errno(path, errno, "stat it");
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) {
    fail(path, "is " + std::to_string(size) + " bytes, more than the " + std::to_string(max_bytes) +
                   " bytes " + what + " may have");
  }
  std::string out(static_cast<size_t>(size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno(path, errno, "read it");
    }
    if (n == 0) {
      fail(path, "file shrank while being read (" + std::to_string(done) + " of " +
                     std::to_string(out.size()) + " bytes)");
    }
    done += static_cast<size_t>(n);
  }
  // A file that grew while being read is read again by nobody: say so instead of using a part.
  char extra = 0;
  ssize_t more;
  do {
    more = ::read(fd, &extra, 1);
  } while (more < 0 && errno == EINTR);
  if (more > 0) fail(path, "file grew while being read (it is being written by another process?)");
  return out;
}

}  // namespace mlpbench
