// librdkafka (Debian librdkafka-dev), plus one helper: Swift cannot call C variadic functions such as
// rd_kafka_producev, so the producer goes through this fixed-argument wrapper.
#ifndef BIZ_RETAIL_CRDKAFKA_SHIM_H
#define BIZ_RETAIL_CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>

/// Produces one record (payload and key copied); on success librdkafka owns `headers`, on failure the caller does.
static inline rd_kafka_resp_err_t biz_rd_kafka_produce(
    rd_kafka_t *rk, const char *topic, const void *key, size_t key_length, const void *value, size_t value_length,
    rd_kafka_headers_t *headers, void *opaque) {
    return rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key, key_length), RD_KAFKA_V_VALUE((void *)value, value_length),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
}

#endif
