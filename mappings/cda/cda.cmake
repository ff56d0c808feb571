# CDA R2 codec (WS/T 500 / WS/T 483 on libxml2). Included from
# mappings/CMakeLists.txt; adds sources to hie_mappings and the cda_test.

# The shipped OID table is compiled in as the default (OidTable::BuiltIn);
# regenerated whenever oid_systems.csv changes.
set(HIE_CDA_OID_CSV ${CMAKE_CURRENT_SOURCE_DIR}/cda/oid_systems.csv)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${HIE_CDA_OID_CSV})
file(READ ${HIE_CDA_OID_CSV} HIE_CDA_OID_CSV_TEXT)
file(WRITE ${CMAKE_BINARY_DIR}/generated/mappings/cda/oid_systems.inc.tmp
     "R\"hiecsv(${HIE_CDA_OID_CSV_TEXT})hiecsv\"\n")
file(COPY_FILE ${CMAKE_BINARY_DIR}/generated/mappings/cda/oid_systems.inc.tmp
     ${CMAKE_BINARY_DIR}/generated/mappings/cda/oid_systems.inc ONLY_IF_DIFFERENT)

target_sources(hie_mappings PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/cda/code_systems.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/cda/xml_safe.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/cda/cda_common.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/cda/cda_reader.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/cda/cda_writer.cc)
target_include_directories(hie_mappings PRIVATE ${CMAKE_BINARY_DIR}/generated)
target_link_libraries(hie_mappings PUBLIC LibXml2::LibXml2 nlohmann_json::nlohmann_json)

hie_add_test(cda_test
  SOURCES cda/cda_test_util.cc cda/xml_safe_test.cc cda/cda_reader_test.cc
          cda/cda_writer_test.cc
  LIBS hie_mappings)

if(HIE_BUILD_BENCH)
  find_package(benchmark REQUIRED)
  add_executable(cda_bench cda/cda_bench.cc)
  target_link_libraries(cda_bench PRIVATE hie_mappings benchmark::benchmark)
  target_compile_definitions(cda_bench PRIVATE HIE_CORPUS_DIR="${HIE_CORPUS_DIR}"
                                               HIE_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
endif()

# The fuzz target cda_fuzz is in mappings/fuzz.cmake.
