!> climlearn: run models trained in Python (exported TorchScript files or AOTInductor
!> packages) inside Fortran.
!>
!> ```fortran
!> use climlearn
!> type(cl_model) :: model
!> real(real32), allocatable :: x(:,:), y(:,:)      ! x(nfeat, ncol), y(nout, ncol)
!> call cl_model_load(model, "model.pt")             ! once, outside the time loop
!> call cl_model_forward(model, x, y)                ! every time step
!> ```
!>
!> MLP-shaped models (linear layers and elementwise activations) run on the CPU through a
!> native kernel instead of the TorchScript interpreter, with the same checks and results
!> to round-off; `cl_model_load(..., backend="torchscript")` forces the interpreter,
!> `backend="aot"` the compiled code of a .pt2 package, and `cl_model_backend(model)` tells
!> which runs.
!>
!> Array layout (the one rule): the LAST Fortran dimension is the batch (the columns).
!> Fortran is column-major, so an array `x(nfeat, ncol)` is, in memory, exactly the
!> row-major tensor of shape `(ncol, nfeat)` that the model sees; higher ranks likewise,
!> with the dimensions reversed: `x(nlev, nvar, ncol)` is the tensor `(ncol, nvar, nlev)`.
!> Nothing is transposed, inputs are not copied (on the CPU), and outputs are written
!> directly into the caller's array. Shapes reported by `cl_model_input_shape` and
!> `cl_model_output_shape` are in Fortran order, with -1 for the batch dimension.
!>
!> Errors follow the convention of `allocate`: every routine with optional `stat` and
!> `errmsg` arguments sets `stat` (0 = `CL_OK` on success, a `CL_ERR_*` code otherwise)
!> and, on error only, `errmsg` (truncated to fit), and returns; the program continues.
!> When `stat` is absent, an error stops the program (`error stop`) with the message,
!> prefixed by "climlearn: ".
!>
!> Indices of inputs and outputs are 1-based. Paths and device names lose their trailing
!> blanks only. The number of inference threads is 1 per process unless set with
!> `cl_set_num_threads` (or the CLIMLEARN_NUM_THREADS environment variable).
!>
!> Host-model layouts (`climlearn_layouts`): `cl_layout_forward` runs a model on the
!> columns of LMDZ-style `(klon, klev)` arrays or on the water columns of NEMO-style
!> `(jpi, jpj, jpk)` arrays with a land-sea mask, in chunks, with a guard that hands
!> columns with non-finite or out-of-range outputs to the reference scheme.
!>
!> This umbrella re-exports the public API of `climlearn_model` and `climlearn_layouts`
!> and the constants of `climlearn_c`; the raw C binding stays in `climlearn_c`.
module climlearn
  use climlearn_c, only: CL_MAX_RANK, CL_OK, CL_ERR_ARGUMENT, CL_ERR_IO, CL_ERR_FORMAT, &
                         CL_ERR_DEVICE, CL_ERR_SHAPE, CL_ERR_DTYPE, CL_ERR_NONFINITE, &
                         CL_ERR_RUNTIME, CL_ERR_STATE, CL_FLOAT32, CL_FLOAT64
  use climlearn_model, only: cl_model, cl_tensor, &
                             cl_model_load, cl_model_free, cl_model_is_loaded, cl_model_move, &
                             cl_model_set_check_finite, cl_model_forward, cl_tensor_wrap, &
                             cl_model_num_inputs, cl_model_num_outputs, &
                             cl_model_input_name, cl_model_output_name, &
                             cl_model_input_units, cl_model_output_units, &
                             cl_model_input_shape, cl_model_output_shape, &
                             cl_model_input_dtype, cl_model_output_dtype, &
                             cl_model_card, cl_model_device, cl_model_backend, &
                             cl_set_num_threads, cl_get_num_threads, cl_version, cl_last_error
  use climlearn_layouts, only: cl_layout, cl_layout_init, cl_layout_forward, &
                               cl_layout_counts, cl_layout_reset_counts, &
                               cl_layout_num_columns, cl_field, cl_reference_columns
  implicit none
  private

  ! Constants (documented in climlearn_c).
  public :: CL_MAX_RANK, CL_OK, CL_ERR_ARGUMENT, CL_ERR_IO, CL_ERR_FORMAT, CL_ERR_DEVICE, &
            CL_ERR_SHAPE, CL_ERR_DTYPE, CL_ERR_NONFINITE, CL_ERR_RUNTIME, CL_ERR_STATE, &
            CL_FLOAT32, CL_FLOAT64

  ! Types and procedures (documented in climlearn_model).
  public :: cl_model, cl_tensor
  public :: cl_model_load, cl_model_free, cl_model_is_loaded, cl_model_move
  public :: cl_model_set_check_finite, cl_model_forward, cl_tensor_wrap
  public :: cl_model_num_inputs, cl_model_num_outputs
  public :: cl_model_input_name, cl_model_output_name
  public :: cl_model_input_units, cl_model_output_units
  public :: cl_model_input_shape, cl_model_output_shape
  public :: cl_model_input_dtype, cl_model_output_dtype
  public :: cl_model_card, cl_model_device, cl_model_backend
  public :: cl_set_num_threads, cl_get_num_threads, cl_version, cl_last_error

  ! Host-model layouts (documented in climlearn_layouts).
  public :: cl_layout, cl_layout_init, cl_layout_forward
  public :: cl_layout_counts, cl_layout_reset_counts, cl_layout_num_columns
  public :: cl_field, cl_reference_columns

end module climlearn
