// A scripted Engine API on a unix socket, for the client tests: each
// request gets the reply a handler picks, including replies a real daemon
// will not give on demand (silence, truncation, endless bodies).
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace leakwatch::docker::testing {

inline std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(LEAKWATCH_FIXTURES_DIR) + "/docker/" + name,
                   std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline std::string JsonReply(const std::string& body, int status = 200,
                             const std::string& extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) +
         (status == 200 ? " OK" : " Error") +
         "\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

struct Reply {
  std::string bytes;     // written at once
  bool hang = false;     // then keep the connection open, silent
  bool endless = false;  // then write `filler` until the client hangs up
  std::string filler = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
};

// Thread-safety: the handler runs on the server's threads; requests() may
// be read from any thread.
class FakeDocker {
 public:
  using Handler = std::function<Reply(const std::string& request_line)>;

  explicit FakeDocker(Handler handler, std::string path = "")
      : handler_(std::move(handler)) {
    if (path.empty()) {
      char tmpl[] = "/tmp/leakwatch-fake-XXXXXX";
      dir_ = mkdtemp(tmpl);
      path = dir_ + "/docker.sock";
    } else {
      // A daemon coming back where an earlier one (which removed its
      // directory) listened.
      dir_ = std::filesystem::path(path).parent_path();
      std::filesystem::create_directories(dir_);
    }
    path_ = path;
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path_.c_str());
    unlink(path_.c_str());
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
            0 ||
        listen(listen_fd_, 64) != 0) {
      std::abort();
    }
    if (pipe(stop_pipe_) != 0) std::abort();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~FakeDocker() { Shutdown(); }

  // Closes the socket and every connection, like a daemon that died.
  void Shutdown() {
    if (stopped_.exchange(true)) return;
    [[maybe_unused]] auto n = write(stop_pipe_[1], "x", 1);
    accept_thread_.join();
    for (auto& t : connection_threads_) t.join();
    close(listen_fd_);
    close(stop_pipe_[0]);
    close(stop_pipe_[1]);
    unlink(path_.c_str());
    if (!dir_.empty()) rmdir(dir_.c_str());
  }

  std::string path() const { return path_; }
  std::string host() const { return "unix://" + path_; }
  std::vector<std::string> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  int CountRequests(const std::string& substring) const {
    int n = 0;
    for (const auto& r : requests()) n += r.find(substring) != r.npos;
    return n;
  }

 private:
  bool Stopping() const {
    pollfd p{stop_pipe_[0], POLLIN, 0};
    return poll(&p, 1, 0) > 0;
  }

  void AcceptLoop() {
    while (true) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      connection_threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  enum class Wait { kReadable, kIdle, kStop };
  // Waits up to ms for fd to be readable or the server to stop.
  Wait WaitOrStop(int fd, int ms) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    poll(fds, 2, ms);
    if (fds[1].revents != 0) return Wait::kStop;
    return fds[0].revents != 0 ? Wait::kReadable : Wait::kIdle;
  }

  void Serve(int fd) {
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      if (WaitOrStop(fd, 5000) != Wait::kReadable) {
        close(fd);
        return;
      }
      const ssize_t n = read(fd, buf, sizeof(buf));
      if (n <= 0) {
        close(fd);
        return;
      }
      request.append(buf, static_cast<std::size_t>(n));
    }
    const std::string line = request.substr(0, request.find("\r\n"));
    {
      std::lock_guard lock(mu_);
      requests_.push_back(line);
    }
    Reply reply = handler_(line);
    WriteAll(fd, reply.bytes);
    if (reply.endless) {
      while (!Stopping() && WriteAll(fd, reply.filler)) {
      }
    } else if (reply.hang) {
      // Silent until the client gives up (EOF) or the server stops.
      while (true) {
        const Wait w = WaitOrStop(fd, 1000);
        if (w == Wait::kStop) break;
        if (w == Wait::kReadable && read(fd, buf, sizeof(buf)) <= 0) break;
      }
    }
    close(fd);
  }

  static bool WriteAll(int fd, const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n =
          send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  Handler handler_;
  std::string dir_;
  std::string path_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> stopped_{false};
  std::thread accept_thread_;
  std::vector<std::thread> connection_threads_;  // accept thread only
  mutable std::mutex mu_;
  std::vector<std::string> requests_;
};

}  // namespace leakwatch::docker::testing
