# Per-generator CPack settings (CPACK_PROJECT_CONFIG_FILE): the .deb installs under /usr, the
# .tar.gz and the self-extracting .sh are relocatable trees (bin/, share/) rooted where unpacked.
if(CPACK_GENERATOR STREQUAL "DEB")
  set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
else()
  set(CPACK_PACKAGING_INSTALL_PREFIX "/")
endif()
