# Generates a .cc holding every numbered PostgreSQL migration of one
# directory as a raw string literal, in file-name order. Run at build time:
#   cmake -DSQL_DIR=<dir> -DOUT=<file.cc> -P embed_sql.cmake
# Files must be named NNNN_what.sql; NNNN becomes the schema version.
file(GLOB sql_files "${SQL_DIR}/*.sql")
list(SORT sql_files)
set(body "")
foreach(f IN LISTS sql_files)
  get_filename_component(name "${f}" NAME)
  if(NOT name MATCHES "^([0-9]+)_.*\\.sql$")
    message(FATAL_ERROR "migration file name must be NNNN_what.sql: ${name}")
  endif()
  math(EXPR version "${CMAKE_MATCH_1}")
  file(READ "${f}" sql)
  string(FIND "${sql}" ")pg_sql\"" bad)
  if(NOT bad EQUAL -1)
    message(FATAL_ERROR "${name} contains the raw-string delimiter")
  endif()
  string(APPEND body "      {${version}, \"${name}\", R\"pg_sql(${sql})pg_sql\"},\n")
endforeach()
set(content "// Generated from ${SQL_DIR} by store/postgres/embed_sql.cmake. Do not edit.
#include \"store/postgres/pg_migrations.h\"

namespace hie::pg {

const std::vector<Migration>& PgMigrations() {
  static const std::vector<Migration> kMigrations = {
${body}  };
  return kMigrations;
}

}  // namespace hie::pg
")
# Rewrite only on change so an unchanged schema does not recompile.
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
  if(old STREQUAL content)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${content}")
