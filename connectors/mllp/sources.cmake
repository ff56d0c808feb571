# Sources of connectors/mllp (owned by the MLLP connector). Paths relative to connectors/.
list(APPEND HIE_CONNECTOR_SOURCES
  mllp/mllp_framing.cc
  mllp/mllp_server.cc
  mllp/mllp_client.cc)
list(APPEND HIE_CONNECTOR_TESTS
  mllp/mllp_framing_test.cc
  mllp/mllp_server_test.cc)
