// The storage conformance suite (src/storage/storage_conformance.h) against the PostgreSQL backend: each test gets
// a fresh database on the throw-away test server.
#include "postgres_test_util.h"
#include "storage/storage_conformance.h"

namespace dial::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Postgres, StorageConformanceTest,
                         ::testing::Values(StorageBackend{"postgres", [] { return NewTemporaryPostgresStorage(); }}),
                         StorageBackendName);

}  // namespace
}  // namespace dial::testing
