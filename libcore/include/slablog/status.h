// Error values returned across the libcore boundary: no exception leaves the library.
// Status is success or an Error; Result<T> is a value or an Error (std::expected's member names,
// so that moving to C++23 is mechanical).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>

namespace slablog {

// kFull: a writer with WriterOptions::max_slabs has no room for the record (nothing was written).
enum class Errc : uint8_t { kIo, kCorruption, kInvalidArgument, kNotFound, kUnsupported, kFull };

// A failure with the file it concerns, the byte offset in that file (0 when none applies), and a
// lowercase message that carries the numbers involved.
struct Error {
  Errc code = Errc::kIo;
  std::string file;
  uint64_t offset = 0;
  std::string message;
};

const char* ErrcName(Errc code);

// "FILE: offset N: message" (parts that are empty or zero are left out).
std::string Describe(const Error& error);

// An OK Status is one null pointer, so returning it from the append path costs nothing.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::make_unique<Error>(std::move(error))) {}  // NOLINT: implicit
  Status(const Status& other)
      : error_(other.error_ ? std::make_unique<Error>(*other.error_) : nullptr) {}
  Status& operator=(const Status& other) {
    if (this != &other) error_ = other.error_ ? std::make_unique<Error>(*other.error_) : nullptr;
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  bool ok() const { return error_ == nullptr; }
  explicit operator bool() const { return ok(); }
  // Only for a failed Status.
  const Error& error() const { return *error_; }

 private:
  std::unique_ptr<Error> error_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(status.error()) {}  // NOLINT: only from a failed Status

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }
  Status status() const { return has_value() ? Status() : Status(error()); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace slablog
