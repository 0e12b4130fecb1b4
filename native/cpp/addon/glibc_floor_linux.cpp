// What keeps the Linux addon loadable on glibc 2.34 (Ubuntu 22.04 has 2.35,
// RHEL 9 2.34), though it is built against Debian 12's 2.36.
//
// The statically linked libstdc++ of GCC 12 carries std::random_device,
// whose object file comes along with the string instantiations we do use and
// refers to arc4random, new in glibc 2.36: the dynamic loader would refuse
// the addon on any older glibc although nothing here ever calls it. This
// definition satisfies that reference inside the addon (hidden: no other
// library of the process sees it). It draws from getrandom (glibc 2.25), as
// glibc's own does. The unwinder's _dl_find_object (glibc 2.35) is avoided
// by linking libgcc dynamically (CMakeLists.txt): every glibc system has
// libgcc_s.
#include <sys/random.h>

#include <cstdint>

extern "C" __attribute__((visibility("hidden"))) uint32_t arc4random(void) {
  uint32_t value = 0;
  while (getrandom(&value, sizeof value, 0) != ssize_t(sizeof value)) {}
  return value;
}
