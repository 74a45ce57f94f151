#include <notify/toolkit/unique_fd.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>

using notify::toolkit::UniqueFd;

namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

std::array<int, 2> make_pipe() {
  std::array<int, 2> fds{-1, -1};
  EXPECT_EQ(::pipe2(fds.data(), O_CLOEXEC), 0);
  return fds;
}

}  // namespace

TEST(UniqueFd, ClosesOnDestruction) {
  auto p = make_pipe();
  {
    UniqueFd r(p[0]);
    UniqueFd w(p[1]);
    EXPECT_TRUE(r.valid());
    EXPECT_TRUE(static_cast<bool>(w));
    EXPECT_EQ(r.get(), p[0]);
  }
  EXPECT_FALSE(is_open(p[0]));
  EXPECT_FALSE(is_open(p[1]));
}

TEST(UniqueFd, MovesOwnershipAndClosesOnce) {
  auto p = make_pipe();
  UniqueFd w(p[1]);
  UniqueFd a(p[0]);
  UniqueFd b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the moved-from state is what is tested
  EXPECT_EQ(b.get(), p[0]);
  UniqueFd c;
  c = std::move(b);
  EXPECT_EQ(c.get(), p[0]);
  c.reset();
  EXPECT_FALSE(c.valid());
  EXPECT_FALSE(is_open(p[0]));
  EXPECT_TRUE(is_open(p[1]));
}

TEST(UniqueFd, MoveAssignmentClosesWhatItHeld) {
  auto first = make_pipe();
  auto second = make_pipe();
  UniqueFd keep_w1(first[1]);
  UniqueFd keep_w2(second[1]);
  UniqueFd x(first[0]);
  x = UniqueFd(second[0]);
  EXPECT_FALSE(is_open(first[0]));
  EXPECT_EQ(x.get(), second[0]);
}

TEST(UniqueFd, ReleaseGivesItUpWithoutClosing) {
  auto p = make_pipe();
  UniqueFd w(p[1]);
  int raw = -1;
  {
    UniqueFd r(p[0]);
    raw = r.release();
    EXPECT_FALSE(r.valid());
  }
  EXPECT_TRUE(is_open(raw));
  ::close(raw);
}
