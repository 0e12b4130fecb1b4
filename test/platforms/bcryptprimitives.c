/* bcryptprimitives.dll for Wine 8 (Debian's), which lacks it: libvips in
 * sharp's Windows binaries imports ProcessPrng from it (Rust's standard
 * library does, from Windows 10 on). Windows has it; this stand-in exists
 * for the Wine test (test/platforms/win32-x64.sh) only and fills the buffer
 * from RtlGenRandom, as Windows's ProcessPrng fills it from its own generator. */
#include <windows.h>
#define SystemFunction036 NTAPI SystemFunction036
#include <ntsecapi.h>
#undef SystemFunction036

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size) {
  while (size > 0) {
    ULONG chunk = size > 0x10000000 ? 0x10000000 : (ULONG)size;
    if (!RtlGenRandom(data, chunk)) return FALSE;
    data += chunk;
    size -= chunk;
  }
  return TRUE;
}
