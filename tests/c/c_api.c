/* Test driver: a C program that uses only climlearn.h.
 * usage: c_api MODEL(8->8 float32) NCOL IN.bin OUT.bin THREADS
 * Runs the model on x(8, ncol) (Fortran order) and writes y; checks metadata and error
 * paths along the way. Prints "OK" and exits 0 when every check holds. */
#include <climlearn.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond, what)                                                        \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "check failed: %s (last error: %s)\n", what, cl_last_error()); \
      return 1;                                                                  \
    }                                                                            \
  } while (0)

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: c_api MODEL NCOL IN.bin OUT.bin THREADS\n");
    return 2;
  }
  const char *path = argv[1];
  long ncol = atol(argv[2]);
  int threads = atoi(argv[5]);
  cl_model *model = NULL;
  char buf[256];
  size_t needed = 0;

  CHECK(strlen(cl_version()) > 0, "version");
  CHECK(cl_set_num_threads(0) == CL_ERR_ARGUMENT, "0 threads refused");
  CHECK(cl_set_num_threads(threads) == CL_OK, "set threads");
  int got_threads = 0;
  CHECK(cl_get_num_threads(&got_threads) == CL_OK && got_threads == threads, "get threads");

  /* errors: status codes and a message, never an abort */
  CHECK(cl_model_load(NULL, "cpu", &model) == CL_ERR_ARGUMENT && model == NULL, "NULL path");
  CHECK(cl_model_load("/nonexistent/model.pt", "cpu", &model) == CL_ERR_IO, "missing file");
  CHECK(strstr(cl_last_error(), "/nonexistent/model.pt") != NULL, "message names the path");
  CHECK(cl_model_forward(NULL, 0, NULL, 0, NULL) == CL_ERR_STATE, "forward on NULL");
  CHECK(cl_model_free(NULL) == CL_OK, "free NULL");

  CHECK(cl_model_load(path, "cpu", &model) == CL_OK && model != NULL, "load");
  int n = 0;
  CHECK(cl_model_num_inputs(model, &n) == CL_OK && n == 1, "num inputs");
  CHECK(cl_model_num_outputs(model, &n) == CL_OK && n == 1, "num outputs");
  CHECK(cl_model_input_name(model, 0, buf, sizeof buf, &needed) == CL_OK &&
            strcmp(buf, "x") == 0 && needed == 1, "input name");
  CHECK(cl_model_output_units(model, 0, buf, sizeof buf, NULL) == CL_OK &&
            strcmp(buf, "K s-1") == 0, "output units");
  CHECK(cl_model_input_name(model, 1, buf, sizeof buf, NULL) == CL_ERR_ARGUMENT,
        "index out of range");
  int rank = 0;
  int64_t shape[CL_MAX_RANK];
  CHECK(cl_model_input_shape(model, 0, &rank, shape, CL_MAX_RANK) == CL_OK && rank == 2 &&
            shape[0] == 8 && shape[1] == -1, "input shape in Fortran order");
  int dtype = 0;
  CHECK(cl_model_input_dtype(model, 0, &dtype) == CL_OK && dtype == CL_FLOAT32, "dtype");
  CHECK(cl_model_card(model, NULL, 0, &needed) == CL_OK && needed > 10, "card length");
  char *card = malloc(needed + 1);
  CHECK(cl_model_card(model, card, needed + 1, NULL) == CL_OK &&
            strstr(card, "\"inputs\"") != NULL, "card");
  free(card);
  CHECK(cl_model_device(model, buf, sizeof buf, NULL) == CL_OK && strcmp(buf, "cpu") == 0,
        "device");

  float *x = malloc(sizeof(float) * 8 * ncol), *y = malloc(sizeof(float) * 8 * ncol);
  FILE *f = fopen(argv[3], "rb");
  CHECK(f && fread(x, sizeof(float), 8 * ncol, f) == (size_t)(8 * ncol), "read input");
  fclose(f);
  cl_array in = {x, CL_FLOAT32, 2, {8, ncol}};
  cl_array out = {y, CL_FLOAT32, 2, {8, ncol}};
  cl_array bad = {x, CL_FLOAT64, 2, {8, ncol}};
  CHECK(cl_model_forward(model, 1, &bad, 1, &out) == CL_ERR_DTYPE, "wrong dtype");
  CHECK(strstr(cl_last_error(), "float32") && strstr(cl_last_error(), "float64"),
        "dtype message names expected and given");
  CHECK(cl_model_forward(model, 1, &in, 1, &out) == CL_OK, "forward");
  f = fopen(argv[4], "wb");
  CHECK(f && fwrite(y, sizeof(float), 8 * ncol, f) == (size_t)(8 * ncol), "write output");
  fclose(f);
  free(x);
  free(y);
  CHECK(cl_model_free(model) == CL_OK, "free");
  printf("OK\n");
  return 0;
}
