# Windows x64 from this Linux machine: Debian's MinGW-w64 (the posix thread
# model, for std::thread: g++-mingw-w64-x86-64-posix), linked statically (no
# MinGW DLLs beside the binaries), and Wine to run what is built, so CTest
# runs the C++ suites as they are:
#   cmake -S . -B build-win64 -DCMAKE_TOOLCHAIN_FILE=cmake/x86_64-w64-mingw32.cmake \
#     -DDMDLK_CUDA=off -DDMDLK_BUILD_TESTS=ON && cmake --build build-win64 && ctest --test-dir build-win64
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR AMD64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static")
# Debian's wine64 package installs the loader here (the `wine` wrapper is another package).
set(CMAKE_CROSSCOMPILING_EMULATOR /usr/lib/wine/wine64)
