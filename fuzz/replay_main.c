/* replay_main.c - runs kept inputs through a fuzz target, without
 * libFuzzer.
 *
 * `make check` builds every fuzz/fuzz_*.c with this main() instead of
 * libFuzzer's, in the ASan+UBSan flavour, so the corpora and the crash
 * inputs kept as regression tests are replayed on every check (seconds),
 * with whatever compiler builds the rest.  Each argument is a file or a
 * directory of files; each file is one input.  A sanitizer report aborts;
 * otherwise it prints how many inputs ran and exits 0 (1 when there were
 * none, so an empty corpus cannot pass unnoticed).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define INPUT_MAX (16 * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Only some targets have one. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Runs one file; -1 if it cannot be read. */
static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	buf = malloc(INPUT_MAX);
	if (!buf) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, INPUT_MAX, f);
	fclose(f);
	/* A copy of exactly the input's size, so ASan sees overreads. */
	uint8_t *in = malloc(n ? n : 1);

	if (!in) {
		free(buf);
		return -1;
	}
	memcpy(in, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(in, n);
	free(in);
	return 0;
}

/* Runs a file, or every file of a directory; adds to *ran. */
static int run_path(const char *path, unsigned *ran)
{
	struct dirent **names;
	struct stat st;
	int n, rc = 0;

	if (stat(path, &st)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = run_file(path);
		*ran += !rc;
		return rc;
	}
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char sub[4096];

		if (names[i]->d_name[0] != '.' && !rc) {
			snprintf(sub, sizeof(sub), "%s/%s", path,
				 names[i]->d_name);
			rc = run_path(sub, ran);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned ran = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &ran))
			return 1;
	printf("%s: %u inputs\n", argv[0], ran);
	return ran ? 0 : 1;
}
