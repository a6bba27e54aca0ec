// errors.cpp -- thread-local last error, exception barrier, string copy convention,
// and the library-level entry points (cl_version, cl_last_error, cl_last_error_copy).
#include "internal.hpp"

#include <c10/util/Exception.h>

#include <cstring>
#include <new>

namespace climlearn {

namespace {

thread_local std::string last_error;

/** Torch warnings are dropped: the library never writes to stdout/stderr. */
class SilentWarningHandler : public c10::WarningHandler {
 public:
  void process(const c10::Warning & /*warning*/) override {}
};

SilentWarningHandler silent_handler;

constexpr size_t max_message_chars = 500;

std::string trim(const std::string &s) {
  const char *ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_lines(const std::string &s) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    lines.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

/** "RuntimeError: ..." / "torch.jit.Error: ..." : the line naming the Python-side error. */
bool is_error_line(const std::string &line) {
  const size_t colon = line.find(": ");
  if (colon == std::string::npos || colon == 0) return false;
  const std::string head = line.substr(0, colon);
  if (head.find(' ') != std::string::npos) return false;
  return head.size() >= 5 && (head.compare(head.size() - 5, 5, "Error") == 0 ||
                              (head.size() >= 9 && head.compare(head.size() - 9, 9, "Exception") == 0));
}

std::string shorten(std::string s) {
  // TORCH_CHECK without a message appends a plea for a better message: drop it.
  const size_t plea = s.find("(Could this error message be improved?");
  if (plea != std::string::npos) s = trim(s.substr(0, plea));
  if (s.size() > max_message_chars) {
    s.resize(max_message_chars - 3);
    s += "...";
  }
  return s;
}

}  // namespace

void set_error(const std::string &msg) noexcept {
  try {
    last_error = msg;
  } catch (...) {
    // Out of memory while storing the message: keep whatever fits in the old buffer.
    last_error.clear();
  }
}

std::string summarise_torch_message(const std::string &what) {
  const std::string text = trim(what);
  const std::vector<std::string> lines = split_lines(text);
  if (lines.empty()) return "(no message)";

  // A TorchScript interpreter failure starts with a TorchScript traceback; the
  // essential part is the final "SomeError: message" (possibly spanning lines).
  if (text.find("TorchScript interpreter") != std::string::npos ||
      text.find("Traceback of TorchScript") != std::string::npos) {
    for (size_t i = lines.size(); i-- > 0;) {
      if (is_error_line(lines[i])) {
        std::string out;
        for (size_t j = i; j < lines.size(); ++j) {
          const std::string t = trim(lines[j]);
          if (t.empty()) continue;
          if (!out.empty()) out += ' ';
          out += t;
        }
        if (out.rfind("builtins.", 0) == 0) out.erase(0, 9);  // "builtins.RuntimeError: ..."
        return shorten(out);
      }
    }
  }

  // Otherwise the first line, joined with the next when it merely introduces it.
  std::string out = trim(lines[0]);
  if (!out.empty() && out.back() == ':' && lines.size() > 1) out += ' ' + trim(lines[1]);
  return shorten(out);
}

std::string current_exception_message() {
  try {
    throw;
  } catch (const c10::Error &e) {
    return summarise_torch_message(e.what_without_backtrace());
  } catch (const std::exception &e) {
    return summarise_torch_message(e.what());
  } catch (...) {
    return "unknown C++ exception";
  }
}

int copy_string(const std::string &s, char *buf, size_t buflen, size_t *needed) {
  if (needed != nullptr) *needed = s.size();
  if (buf == nullptr) {
    if (buflen == 0) return CL_OK;  // length query
    throw Error(CL_ERR_ARGUMENT, "string buffer is NULL but buflen is " + std::to_string(buflen));
  }
  if (buflen == 0) return CL_OK;
  const size_t n = s.size() < buflen - 1 ? s.size() : buflen - 1;
  std::memcpy(buf, s.data(), n);
  buf[n] = '\0';
  return CL_OK;
}

int guarded_impl(int (*body)(void *), void *ctx) noexcept {
  try {
    c10::WarningUtils::WarningHandlerGuard quiet(&silent_handler);
    try {
      return body(ctx);
    } catch (const Error &e) {
      set_error(e.what());
      return e.status();
    } catch (const c10::OutOfMemoryError &e) {
      set_error("out of memory: " + summarise_torch_message(e.what_without_backtrace()));
      return CL_ERR_RUNTIME;
    } catch (const std::bad_alloc &) {
      set_error("out of memory (std::bad_alloc)");
      return CL_ERR_RUNTIME;
    } catch (...) {
      set_error("internal error: " + current_exception_message());
      return CL_ERR_RUNTIME;
    }
  } catch (...) {
    set_error("internal error: an exception escaped the error handler");
    return CL_ERR_RUNTIME;
  }
}

}  // namespace climlearn

extern "C" {

CL_API const char *cl_version(void) { return CL_VERSION_STRING; }

CL_API const char *cl_last_error(void) { return climlearn::last_error.c_str(); }

CL_API int cl_last_error_copy(char *buf, size_t buflen, size_t *needed) {
  return climlearn::guarded(
      [&] { return climlearn::copy_string(climlearn::last_error, buf, buflen, needed); });
}

}  // extern "C"
