# `cmake --install` puts the library, its headers and a package config in the
# prefix, so a user's project can say find_package(cf) and link cf::cf.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS cf EXPORT cfTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(layer autograd nn data train)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer}
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cf
          FILES_MATCHING PATTERN "*.h")
endforeach()
# Headers are included as "autograd/tensor.h": the include root is include/cf.
set_target_properties(cf PROPERTIES EXPORT_NAME cf)
install(EXPORT cfTargets NAMESPACE cf:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cf)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/cfConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cfConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cf)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cfConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cfConfig.cmake ${PROJECT_BINARY_DIR}/cfConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cf)
