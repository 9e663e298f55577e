/* A native plugin for pluginkit's tests, in C, compiled at test time with the system compiler (cc).
 *
 * It speaks the seed host's C ABI (CLIProxyAPI sdk/pluginabi). Macros make the broken variants:
 * INIT_RC (what cliproxy_plugin_init returns), PLUGIN_ABI (the ABI version it reports), NULL_CALL (no call
 * function), NO_SYMBOL (no cliproxy_plugin_init at all), EXECUTOR (an executor, not a scheduler), CAPABILITY
 * (a string: the one capability flag it declares, answering every method with an empty result), QUIET (scheduler.pick logs nothing: the benchmark's),
 * BAD_REGISTER (plugin.register answers garbage).
 */
#include <stdint.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef INIT_RC
#define INIT_RC 0
#endif
#ifndef PLUGIN_ABI
#define PLUGIN_ABI 1
#endif

typedef struct { void* ptr; size_t len; } cliproxy_buffer;
typedef int (*cliproxy_host_call_fn)(void*, const char*, const uint8_t*, size_t, cliproxy_buffer*);
typedef void (*cliproxy_host_free_fn)(void*, size_t);
typedef struct {
	uint32_t abi_version;
	void* host_ctx;
	cliproxy_host_call_fn call;
	cliproxy_host_free_fn free_buffer;
} cliproxy_host_api;
typedef int (*cliproxy_plugin_call_fn)(const char*, const uint8_t*, size_t, cliproxy_buffer*);
typedef void (*cliproxy_plugin_free_fn)(void*, size_t);
typedef void (*cliproxy_plugin_shutdown_fn)(void);
typedef struct {
	uint32_t abi_version;
	cliproxy_plugin_call_fn call;
	cliproxy_plugin_free_fn free_buffer;
	cliproxy_plugin_shutdown_fn shutdown;
} cliproxy_plugin_api;

static const cliproxy_host_api* host = NULL;
static int shutdowns = 0;
static char last_reconfigure[4096];  /* the request of the last plugin.reconfigure, for test.config */

static void respond(cliproxy_buffer* response, const char* text, size_t len) {
	void* ptr = malloc(len);
	memcpy(ptr, text, len);
	response->ptr = ptr;
	response->len = len;
}

/* Calls the host back with `request` and answers what the host answered, as the result of an envelope. */
static void echo_host(const char* method, const uint8_t* request, size_t len, cliproxy_buffer* response) {
	cliproxy_buffer answer = {0};
	int rc = host->call(host->host_ctx, method, request, len, &answer);
	if (rc != 0 || answer.ptr == NULL) {
		const char* text = "{\"ok\":false,\"error\":{\"code\":\"host_call_failed\",\"message\":\"no answer\"}}";
		respond(response, text, strlen(text));
		return;
	}
	const char* head = "{\"ok\":true,\"result\":{\"Body\":";
	size_t head_len = strlen(head);
	char* out = malloc(head_len + answer.len + 2);
	memcpy(out, head, head_len);
	memcpy(out + head_len, answer.ptr, answer.len);
	out[head_len + answer.len] = '}';
	out[head_len + answer.len + 1] = '}';
	response->ptr = out;
	response->len = head_len + answer.len + 2;
	host->free_buffer(answer.ptr, answer.len);
}

static int plugin_call(const char* method, const uint8_t* request, size_t len, cliproxy_buffer* response) {
	response->ptr = NULL;
	response->len = 0;
	if (strcmp(method, "plugin.reconfigure") == 0) {
		size_t n = len < sizeof last_reconfigure - 1 ? len : sizeof last_reconfigure - 1;
		memcpy(last_reconfigure, request, n);
		last_reconfigure[n] = 0;
		method = "plugin.register";  /* answered as the registration, as a seed plugin does */
	}
	if (strcmp(method, "test.config") == 0) {
		respond(response, last_reconfigure, strlen(last_reconfigure));
		return 0;
	}
	if (strcmp(method, "plugin.register") == 0) {
#ifdef BAD_REGISTER
		const char* bad = "{\"ok\":true,\"result\":[1,2]}";  /* a registration that is no object */
		respond(response, bad, strlen(bad));
		return 0;
#endif
		const char* text = "{\"ok\":true,\"result\":{\"schema_version\":1,\"metadata\":{\"Name\":\"native-test\","
			"\"Version\":\"1.0.0\",\"Author\":\"pluginkit tests\",\"GitHubRepository\":\"example/native\"},"
#if defined(CAPABILITY)
			"\"capabilities\":{\"" CAPABILITY "\":true}}}";
#elif defined(EXECUTOR)
			"\"capabilities\":{\"executor\":true,\"executor_input_formats\":[\"openai\"],"
			"\"executor_output_formats\":[\"openai\"]}}}";
#else
			"\"capabilities\":{\"scheduler\":true}}}";
#endif
		respond(response, text, strlen(text));
		return 0;
	}
	if (strcmp(method, "executor.identifier") == 0) {
		const char* text = "{\"ok\":true,\"result\":{\"identifier\":\"native\"}}";
		respond(response, text, strlen(text));
		return 0;
	}
	if (strcmp(method, "executor.execute_stream") == 0) {
		/* pushes three chunks through the host (host.stream.emit), then closes the stream, as the seed's
		 * executors do from inside the call; the chunks' payloads are base64 of "one ", "two ", "three" */
		char* text = malloc(len + 1);
		memcpy(text, request, len);
		text[len] = 0;
		const char* key = strstr(text, "\"stream_id\":\"");
		char id[32] = {0};
		if (key != NULL) {
			key += strlen("\"stream_id\":\"");
			size_t n = 0;
			while (key[n] && key[n] != '"' && n < sizeof(id) - 1) { id[n] = key[n]; n++; }
		}
		free(text);
		const char* payloads[3] = {"b25lIA==", "dHdvIA==", "dGhyZWU="};
		char call[128];
		for (int i = 0; i < 3; i++) {
			snprintf(call, sizeof call, "{\"stream_id\":\"%s\",\"payload\":\"%s\"}", id, payloads[i]);
			cliproxy_buffer answer = {0};
			if (host->call(host->host_ctx, "host.stream.emit", (const uint8_t*)call, strlen(call), &answer) == 0
				&& answer.ptr) {
				host->free_buffer(answer.ptr, answer.len);
			}
		}
		snprintf(call, sizeof call, "{\"stream_id\":\"%s\"}", id);
		cliproxy_buffer answer = {0};
		if (host->call(host->host_ctx, "host.stream.close", (const uint8_t*)call, strlen(call), &answer) == 0
			&& answer.ptr) {
			host->free_buffer(answer.ptr, answer.len);
		}
		const char* out = "{\"ok\":true,\"result\":{}}";
		respond(response, out, strlen(out));
		return 0;
	}
	if (strcmp(method, "test.echo") == 0) {
		respond(response, (const char*)request, len);
		return 0;
	}
	if (strcmp(method, "test.host") == 0) {
		echo_host("host.test.echo", request, len, response);
		return 0;
	}
	if (strcmp(method, "test.shutdowns") == 0) {
		char text[2] = {(char)('0' + shutdowns), 0};
		respond(response, text, 1);
		return 0;
	}
	if (strcmp(method, "scheduler.pick") == 0) {
		/* logs through the host, then picks "native-pick" — or refuses, or fails, by what the model asks */
		char* text = malloc(len + 1);
		memcpy(text, request, len);
		text[len] = 0;
		int refuse = strstr(text, "\"refuse\"") != NULL, fail = strstr(text, "\"fail\"") != NULL;
		int crash = strstr(text, "\"crash\"") != NULL, hang = strstr(text, "\"hang\"") != NULL;
		free(text);
		while (hang) {
			sleep(1);  /* never answers: only a library in a process of its own is bounded */
		}
		if (crash) {
			raise(SIGSEGV);  /* a segfault: only a library in a process of its own may do this in a test */
		}
		const char* log = "{\"level\":\"info\",\"message\":\"native pick\"}";
		cliproxy_buffer answer = {0};
#ifndef QUIET
		if (host->call(host->host_ctx, "host.log", (const uint8_t*)log, strlen(log), &answer) == 0 && answer.ptr) {
			host->free_buffer(answer.ptr, answer.len);
		}
#endif
		if (fail) {
			respond(response, "boom", 4);
			return 3;
		}
		const char* out = refuse
			? "{\"ok\":false,\"error\":{\"code\":\"scheduler_denied\",\"message\":\"no credential for you\"}}"
			: "{\"ok\":true,\"result\":{\"AuthID\":\"native-pick\",\"Handled\":true}}";
		respond(response, out, strlen(out));
		return 0;
	}
	if (strcmp(method, "test.fail") == 0) {
		respond(response, "boom", 4);
		return 3;
	}
#ifdef CAPABILITY
	const char* text = "{\"ok\":true,\"result\":{}}";  /* every method of its family: the zero answer */
#else
	const char* text = "{\"ok\":false,\"error\":{\"code\":\"not_handled\",\"message\":\"unknown method\"}}";
#endif
	respond(response, text, strlen(text));
	return 0;
}

static void plugin_free(void* ptr, size_t len) {
	(void)len;
	free(ptr);
}

static void plugin_shutdown(void) { shutdowns++; }

#ifdef NO_SYMBOL
__attribute__((visibility("default"))) int some_other_init(const cliproxy_host_api* h, cliproxy_plugin_api* p)
#else
__attribute__((visibility("default"))) int cliproxy_plugin_init(const cliproxy_host_api* h, cliproxy_plugin_api* p)
#endif
{
	host = h;
	p->abi_version = PLUGIN_ABI;
#ifdef NULL_CALL
	p->call = NULL;
#else
	p->call = plugin_call;
#endif
	p->free_buffer = plugin_free;
	p->shutdown = plugin_shutdown;
	return INIT_RC;
}
