// Windows only: the addon imports Node-API from "node.exe", which is not the
// name of every process that hosts Node (Electron's is the app's own). The
// imports are delay-loaded (linked against a delay-import library made from
// node-api-headers' .def files), and this hook answers the loader's request
// for node.exe with the running executable, whatever its name, as node-gyp's
// win_delay_load_hook does for MSVC builds.
#include <windows.h>

#include <delayimp.h>
#include <string.h>

namespace {

FARPROC WINAPI load_host_for_node_exe(unsigned event, PDelayLoadInfo info) {
  if (event != dliNotePreLoadLibrary || _stricmp(info->szDll, "node.exe") != 0) return nullptr;
  return reinterpret_cast<FARPROC>(GetModuleHandleW(nullptr));
}

}  // namespace

// delayimp.h declares it non-const, as MinGW-w64's delay-load helper reads it.
PfnDliHook __pfnDliNotifyHook2 = load_host_for_node_exe;
