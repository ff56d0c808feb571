# Sources of connectors/http and connectors/file. Paths relative to connectors/.
list(APPEND HIE_CONNECTOR_SOURCES
  http/http_server.cc
  http/http_client.cc
  file/file_writer.cc
)
list(APPEND HIE_CONNECTOR_TESTS
  http/http_server_test.cc
  http/http_client_test.cc
  file/file_writer_test.cc
)
