# CPack settings for `cpack -G DEB`: one package, slablog, with everything install() installs (the
# program, both libraries, headers, CMake and pkg-config files, man pages, completions), rooted at
# /usr, the library in Debian's multiarch folder (CMAKE_INSTALL_LIBDIR, see CMakeLists.txt).
# One package rather than Debian's split (libslablog0, libslablog-dev, slablog): robots install
# the library and the tool together, and a split would need a package per CPack component.
set(SLABLOG_DEB_MAINTAINER "slablog maintainers <maintainers@users.noreply.h-seed-a75f48ea.example>"
    CACHE STRING "Maintainer field of the .deb that cpack makes")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME slablog)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${SLABLOG_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "slablog records robot data in append-only, CRC-framed logs that survive crashes and power \
cuts. This package holds the slablog program (verify, truncate, recover, dump, export, split, \
merge, follow and convert logs), the C++20 library libslablog (shared and static) with its \
headers, CMake package (find_package(slablog)) and pkg-config file, man pages and shell \
completions.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # slablog_<version>-<release>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends comes from dpkg-shlibdeps (ISA-L, zstd, fmt, the C++ runtime); the shlibs file lets
# packages built against libslablog.so.0 depend on this one, and ldconfig runs on install.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# Linking the static library (slablog::core_static, pkg-config --static) also needs these.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libisal-dev, libzstd-dev, pkg-config")

include(CPack)
