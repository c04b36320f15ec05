# Installs the npm packages pinned by a package.json/package-lock.json pair with `npm ci` into the build tree: the
# report's plotting library (ECharts, src/report/web) and the browser tests' driver (playwright-core, tests/browser).
# Never fails the build: without npm or its registry it says so in STAMP, and whatever needs the package then refuses
# with a message saying how to get it. Run at build time:
#   cmake -DWEB_DIR=src/report/web -DDEST=build/report-web -DSTAMP=... -DEXPECT=node_modules/... -DWHAT="..."
#         -P npm_ci.cmake
file(MAKE_DIRECTORY "${DEST}")
file(COPY_FILE "${WEB_DIR}/package.json" "${DEST}/package.json" ONLY_IF_DIFFERENT)
file(COPY_FILE "${WEB_DIR}/package-lock.json" "${DEST}/package-lock.json" ONLY_IF_DIFFERENT)
find_program(NPM npm)
set(expected "${DEST}/${EXPECT}")
if(NOT NPM)
  message(WARNING "npm not found: ${WHAT} will be missing (${expected})")
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
if(NOT rc EQUAL 0 OR NOT EXISTS "${expected}")
  message(WARNING "npm ci failed (${rc}) in ${DEST}: ${WHAT} will be missing.\n${err}")
  file(WRITE "${STAMP}" "npm ci failed: ${rc}\n")
  return()
endif()
file(WRITE "${STAMP}" "ok\n")
