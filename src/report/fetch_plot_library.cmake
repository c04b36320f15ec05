# Fetches the report's plotting library (ECharts, pinned by web/package-lock.json) with `npm ci` into the build tree.
# Never fails the build: without npm or its registry it says so, and `dial report` then refuses to write a report
# with a message saying how to get the library. Run at build time:
#   cmake -DWEB_DIR=src/report/web -DDEST=build/report-web -DSTAMP=... -P fetch_plot_library.cmake
file(MAKE_DIRECTORY "${DEST}")
file(COPY_FILE "${WEB_DIR}/package.json" "${DEST}/package.json" ONLY_IF_DIFFERENT)
file(COPY_FILE "${WEB_DIR}/package-lock.json" "${DEST}/package-lock.json" ONLY_IF_DIFFERENT)
find_program(NPM npm)
set(library "${DEST}/node_modules/echarts/dist/echarts.min.js")
if(NOT NPM)
  message(WARNING "npm not found: dial report will not have its plotting library (${library})")
  file(WRITE "${STAMP}" "npm not found\n")
  return()
endif()
execute_process(
  COMMAND "${NPM}" ci --no-audit --no-fund --ignore-scripts --loglevel=error --fetch-retries=1
          --fetch-timeout=60000
  WORKING_DIRECTORY "${DEST}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  TIMEOUT 300)
if(NOT rc EQUAL 0 OR NOT EXISTS "${library}")
  message(WARNING "npm ci failed (${rc}) in ${DEST}: dial report will not have its plotting library.\n${err}")
  file(WRITE "${STAMP}" "npm ci failed: ${rc}\n")
  return()
endif()
file(WRITE "${STAMP}" "ok\n")
