/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The top-level attributes OCSF 1.8.0 defines for the classes netseg
 * writes, for tests to hold every record to: each class's own attributes
 * plus those it inherits (network_activity <- network <- base_event,
 * event_log_activity <- system <- base_event) and its profiles' (cloud,
 * datetime, host, osint, security_control, network_proxy, load_balancer),
 * resolved from ocsf/ocsf-schema at tag v1.8.0 (the events and profiles directories).
 * A key outside the list is "attribute_unknown" to the OCSF validator.
 */
#ifndef NETSEG_TEST_OCSF_H
#define NETSEG_TEST_OCSF_H

#include <stdbool.h>
#include <string.h>

/* Network Activity, class_uid 4001 */
static const char *const ocsf_4001_attrs[] = {
	"action",
	"action_id",
	"activity_id",
	"activity_name",
	"actor",
	"api",
	"app_name",
	"app_protocol_name",
	"attacks",
	"authorizations",
	"category_name",
	"category_uid",
	"class_name",
	"class_uid",
	"cloud",
	"confidence",
	"confidence_id",
	"confidence_score",
	"connection_info",
	"count",
	"cumulative_traffic",
	"device",
	"disposition",
	"disposition_id",
	"dst_endpoint",
	"duration",
	"end_time",
	"enrichments",
	"firewall_rule",
	"is_alert",
	"is_src_dst_assignment_known",
	"ja4_fingerprint_list",
	"load_balancer",
	"malware",
	"malware_scan_info",
	"message",
	"metadata",
	"network_observation_point",
	"observables",
	"observation_point",
	"observation_point_id",
	"osint",
	"packet_list",
	"policy",
	"proxy",
	"proxy_connection_info",
	"proxy_endpoint",
	"proxy_http_request",
	"proxy_http_response",
	"proxy_tls",
	"proxy_traffic",
	"raw_data",
	"raw_data_hash",
	"raw_data_size",
	"risk_details",
	"risk_level",
	"risk_level_id",
	"risk_score",
	"severity",
	"severity_id",
	"src_endpoint",
	"start_time",
	"status",
	"status_code",
	"status_detail",
	"status_id",
	"time",
	"timezone_offset",
	"tls",
	"traffic",
	"type_name",
	"type_uid",
	"unmapped",
	"url",
	NULL,
};

/* Event Log Activity, class_uid 1008 (loss reports) */
static const char *const ocsf_1008_attrs[] = {
	"action",
	"action_id",
	"activity_id",
	"activity_name",
	"actor",
	"api",
	"attacks",
	"authorizations",
	"category_name",
	"category_uid",
	"class_name",
	"class_uid",
	"cloud",
	"confidence",
	"confidence_id",
	"confidence_score",
	"count",
	"device",
	"disposition",
	"disposition_id",
	"dst_endpoint",
	"duration",
	"end_time",
	"enrichments",
	"file",
	"firewall_rule",
	"is_alert",
	"log_name",
	"log_provider",
	"log_type",
	"log_type_id",
	"malware",
	"malware_scan_info",
	"message",
	"metadata",
	"observables",
	"osint",
	"policy",
	"raw_data",
	"raw_data_hash",
	"raw_data_size",
	"risk_details",
	"risk_level",
	"risk_level_id",
	"risk_score",
	"severity",
	"severity_id",
	"src_endpoint",
	"start_time",
	"status",
	"status_code",
	"status_detail",
	"status_id",
	"time",
	"timezone_offset",
	"type_name",
	"type_uid",
	"unmapped",
	NULL,
};

/* The first top-level key of @doc (a parsed record) its class doesn't
 * define ("class_uid" for a class other than these two), NULL if none. */
static inline const char *ocsf_unknown_attr(const struct cJSON *doc)
{
	const struct cJSON *cls = cJSON_GetObjectItemCaseSensitive(doc, "class_uid"), *m;
	const char *const *attrs;
	size_t i;

	if (!cJSON_IsNumber(cls))
		return "class_uid";
	attrs = cls->valueint == 4001 ? ocsf_4001_attrs :
		cls->valueint == 1008 ? ocsf_1008_attrs :
					NULL;
	if (!attrs)
		return "class_uid";
	for (m = doc->child; m; m = m->next) {
		for (i = 0; attrs[i] && strcmp(attrs[i], m->string); i++)
			;
		if (!attrs[i])
			return m->string;
	}
	return NULL;
}

#endif
