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

# The fuzz targets v2_fuzz and fhir_fuzz are in mappings/fuzz.cmake.
