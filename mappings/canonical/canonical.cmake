# Canonical model, HL7 v2 <-> canonical mappings and the FHIR R4 JSON codec.
# Included from mappings/CMakeLists.txt.
target_sources(hie_mappings PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/canonical/model.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/canonical/v2_types.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/canonical/v2_to_canonical.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/canonical/canonical_to_v2.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/canonical/fhir.cc)
target_link_libraries(hie_mappings PUBLIC nlohmann_json::nlohmann_json)

hie_add_test(canonical_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/canonical/model_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/canonical/v2_mapping_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/canonical/fhir_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/canonical/golden_test.cc
  LIBS hie_mappings)

if(HIE_FUZZ)
  # hie_mappings itself is instrumented in cda/cda.cmake.
  add_executable(canonical_fuzz ${CMAKE_CURRENT_SOURCE_DIR}/canonical/canonical_fuzz.cc)
  target_compile_options(canonical_fuzz PRIVATE -fsanitize=fuzzer,address)
  target_link_options(canonical_fuzz PRIVATE -fsanitize=fuzzer,address)
  target_link_libraries(canonical_fuzz PRIVATE hie_mappings)
endif()
