!> Host-model layouts: run a model on the arrays of an LMDZ- or NEMO-style host in one call.
!>
!> A model exported by climlearn takes its inputs as `x(nfeat, ncol)` (features first,
!> columns LAST). Host models store fields the other way round: LMDZ's physics works on
!> `t(klon, klev)` (columns first), NEMO on `tn(jpi, jpj, jpk)` with a land-sea mask. A
!> `cl_layout` says which columns of such host arrays are run; `cl_layout_forward` gathers
!> them, chunk by chunk, into work buffers in the model's layout (a transpose, plus a kind
!> conversion when the host's kind differs from the model's), runs the model on each chunk
!> and scatters the results back into the host's output arrays.
!>
!> LMDZ-style columns (every column of `(klon, klev)` and `(klon)` arrays):
!>
!> ```fortran
!> type(cl_layout) :: atm                    ! default: all columns, no chunking
!> call cl_layout_forward(atm, model, [cl_field(t), cl_field(q), cl_field(ps)], &
!>                        [cl_field(dtdt), cl_field(dqdt)], stat=ierr, errmsg=msg)
!> ```
!>
!> NEMO-style masked columns (water columns of `(jpi, jpj, jpk)` and `(jpi, jpj)` arrays):
!>
!> ```fortran
!> type(cl_layout) :: ocean
!> call cl_layout_init(ocean, tmask, chunk=4096)         ! once: the mask is fixed
!> call cl_layout_forward(ocean, model, [cl_field(tn), cl_field(sn), cl_field(utau)], &
!>                        [cl_field(avt)], reference=pp_columns, stat=ierr, errmsg=msg)
!> ```
!>
!> Rules:
!> - A host field's leading dimensions are the column dimensions: one (`klon`) for a
!>   layout without a mask or with a 1-D mask, two (`jpi, jpj`) with a 2-D or 3-D mask.
!>   Its remaining dimensions (none for a surface field) are the levels, flattened first
!>   index fastest.
!> - The levels of the input fields, in the order given, are concatenated into one feature
!>   vector per column, which fills the model's inputs in order (each takes as many
!>   features per column as its metadata says). The model's outputs are split the same way
!>   into the output fields. Example: fields T(klon,20), q(klon,20), ps(klon) feed one
!>   model input `x(41, ncol)` or three inputs `(20, ncol)`, `(20, ncol)`, `(1, ncol)`.
!> - Host fields are `real(real32)` or `real(real64)`, independently of the model's dtype:
!>   values are converted while they are packed (so a real64 host can run a float32 model).
!> - Columns outside the mask (land), and with a 3-D mask the points below the bottom, are
!>   never written: they stay bit-identical. The model still sees the whole column,
!>   including what the host stores below the bottom (keep it as in the training data).
!> - An output field may be an input field too (in-place update): each chunk is packed
!>   before any of its columns is written, and chunks hold different columns.
!> - The guard: a column whose outputs hold a NaN or an Inf, or (with `valid_min` /
!>   `valid_max`) a value out of range, is rejected: it is not written; `reference`, if
!>   given, is then called once with the list of rejected columns to fill them with the
!>   reference scheme. `bad` and `nbad` report the rejected columns, and the layout counts
!>   them over calls (`cl_layout_counts`).
!>
!> A layout holds work buffers (grown to the largest chunk seen, then reused): use one
!> layout per thread. Errors follow the module's convention (optional `stat`/`errmsg`).
module climlearn_layouts
  use, intrinsic :: iso_c_binding, only: c_ptr, c_null_ptr, c_loc, c_f_pointer, &
                                         c_int32_t, c_int64_t
  use, intrinsic :: iso_fortran_env, only: real32, real64, int64
  use, intrinsic :: ieee_arithmetic, only: ieee_is_finite
  use climlearn_c, only: CL_OK, CL_ERR_ARGUMENT, CL_ERR_SHAPE, CL_ERR_STATE, &
                         CL_FLOAT32, CL_FLOAT64, CL_MAX_RANK
  use climlearn_model, only: cl_model, cl_tensor, cl_model_forward, cl_model_is_loaded, &
                             cl_model_num_inputs, cl_model_num_outputs, &
                             cl_model_input_shape, cl_model_output_shape, &
                             cl_model_input_dtype, cl_model_output_dtype, &
                             cl_model_input_name, cl_model_output_name
  implicit none
  private

  public :: cl_layout, cl_layout_init, cl_layout_forward
  public :: cl_layout_counts, cl_layout_reset_counts, cl_layout_num_columns
  public :: cl_field, cl_reference_columns

  !> Kinds of layout (which columns are run, which points are written).
  integer, parameter :: MODE_ALL = 0, MODE_MASK1 = 1, MODE_MASK2 = 2, MODE_MASK3 = 3

  !> One work buffer: a model input or output for one chunk, `(nfeat, nchunk)` flattened.
  type :: work_buffer
    real(real32), allocatable :: r32(:)
    real(real64), allocatable :: r64(:)
  end type work_buffer

  !> How the columns of host arrays are gathered into model batches, with the work
  !> buffers (reused between calls) and the guard's counters.
  !>
  !> A variable that was never passed to `cl_layout_init` is a valid layout: every
  !> column of `(ncol, ...)` fields, no chunking. `cl_layout_init` chooses the columns with
  !> a mask and the chunk size. A layout is not tied to one model.
  type :: cl_layout
    private
    integer :: mode = MODE_ALL
    !> Column dimensions of the mask (MODE_MASK*).
    integer :: colshape(2) = 0
    !> Levels of a 3-D mask.
    integer :: nk = 0
    !> Columns per model call (0: all at once).
    integer :: chunk = 0
    !> Flat host indices of the gathered columns (MODE_MASK*).
    integer, allocatable :: idx(:)
    !> Wet points of a 3-D mask, (flat column, level).
    logical, allocatable :: wet(:,:)
    type(work_buffer), allocatable :: bin(:), bout(:)
    !> Workspaces: columns of the current chunk, their guard verdict, rejected columns.
    integer, allocatable :: cols(:)
    logical, allocatable :: ok(:)
    integer, allocatable :: badlist(:)
    integer(int64) :: ncalls = 0, ncolumns = 0, nbad = 0
  end type cl_layout

  !> Describe a host field for `cl_layout_forward`: `cl_field(array)` returns a `cl_tensor`.
  !>
  !> The function form of `cl_tensor_wrap`, to build the lists of fields in place:
  !> `[cl_field(t), cl_field(q)]`. `array` is `real(real32)` or `real(real64)` of rank 1 to
  !> 4; as for `cl_tensor_wrap` it must have the TARGET attribute in the caller and outlive
  !> the call. A non-contiguous array gives a descriptor that `cl_layout_forward` refuses
  !> with `CL_ERR_ARGUMENT` (a function cannot return a status).
  interface cl_field
    module procedure field_r32_1, field_r32_2, field_r32_3, field_r32_4
    module procedure field_r64_1, field_r64_2, field_r64_3, field_r64_4
  end interface cl_field

  !> Choose the columns of a layout and its chunk size:
  !> `call cl_layout_init(layout [, mask] [, chunk=] [, stat=] [, errmsg=])`.
  !>
  !> - no mask: every column of `(ncol, ...)` fields (ncol taken from the fields at each call);
  !> - `logical :: mask(ncol)`: the columns where mask is true (e.g. convective columns);
  !> - `mask(jpi, jpj)`, logical or real (positive = water, as NEMO's `tmask(:,:,1)`): the
  !>   water columns of `(jpi, jpj, ...)` fields; all levels of them are written;
  !> - `mask(jpi, jpj, jpk)`, logical or real (NEMO's `tmask`, with bathymetry): the columns
  !>   with at least one wet point; 3-D output fields `(jpi, jpj, jpk)` are written at wet
  !>   points only (points below the bottom stay untouched), surface outputs on the
  !>   gathered columns.
  !>
  !> `chunk` (default 0 = all gathered columns in one call) bounds the number of columns
  !> per model call, so the work buffers hold at most `chunk` columns; results do not
  !> depend on it (for models whose columns are independent, as MLPs' are). Initialising
  !> resets the counters and frees the buffers.
  !>
  !> ```fortran
  !> call cl_layout_init(ocean, tmask)              ! real(wp) tmask(jpi, jpj, jpk)
  !> call cl_layout_init(atm, chunk=256)            ! all klon columns, 256 per call
  !> ```
  interface cl_layout_init
    module procedure init_all, init_l1, init_l2, init_l3
    module procedure init_r32_2, init_r32_3, init_r64_2, init_r64_3
  end interface cl_layout_init

  abstract interface
    !> The reference scheme for the columns the guard rejected (see `cl_layout_forward`).
    !>
    !> `columns` holds flat host column indices, ascending: `ic` for fields `(klon, ...)`;
    !> `ic = ji + (jj - 1) * jpi` for fields `(jpi, jpj, ...)`, so `ji = mod(ic - 1, jpi) + 1`
    !> and `jj = (ic - 1) / jpi + 1`. The procedure computes the scheme on those columns and
    !> writes the host's output arrays there itself, reaching them by use association (a
    !> module procedure of the host; an internal procedure works too, but gfortran then
    !> builds a trampoline that needs an executable stack).
    !>
    !> ```fortran
    !> subroutine pp_columns(columns)
    !>   integer, intent(in) :: columns(:)
    !>   integer :: n
    !>   do n = 1, size(columns)
    !>     call pp_mixing_column(mod(columns(n) - 1, jpi) + 1, (columns(n) - 1) / jpi + 1)
    !>   end do
    !> end subroutine pp_columns
    !> ```
    subroutine cl_reference_columns(columns)
      !> Flat host indices of the rejected columns, ascending.
      integer, intent(in) :: columns(:)
    end subroutine cl_reference_columns
  end interface

  !> Description of one host field during a call.
  type :: field_info
    type(c_ptr) :: data = c_null_ptr
    integer :: dtype = 0
    !> Flat host columns and levels per column.
    integer :: ncols = 0, nlev = 0
    !> Offset of the field's first level in the concatenated feature vector.
    integer :: offset = 0
    !> True for an output written at the wet points of a 3-D mask only.
    logical :: pointwise = .false.
  end type field_info

  !> The model's inputs or outputs as seen by the layout.
  type :: side_info
    integer :: n = 0
    integer, allocatable :: nfeat(:), dtype(:), offset(:), rank(:)
    integer(c_int64_t), allocatable :: shp(:,:)
  end type side_info

  character(len=*), parameter :: WHO = "cl_layout_forward: "

  !> Columns per block of the transposes: a block of the work buffer stays in cache
  !> while every level of its columns is packed, checked and unpacked. Each level writes
  !> one value per column, i.e. one cache line per column of the block, so the block is
  !> kept to 64 columns (64 lines of every buffer row set: within L1 for ~60 features).
  integer, parameter :: BLOCK_COLS = 64

contains

  ! ======================================================================================
  ! Error handling and text
  ! ======================================================================================

  !> Apply the module's error convention (see `climlearn_model`).
  subroutine report(status, message, stat, errmsg)
    integer, intent(in) :: status
    character(len=*), intent(in) :: message
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    if (present(stat)) then
      stat = status
      if (status /= CL_OK .and. present(errmsg)) errmsg = message
    else if (status /= CL_OK) then
      error stop "climlearn: " // message
    end if
  end subroutine report

  !> Decimal text of an integer.
  pure function str(i) result(s)
    integer(int64), intent(in) :: i
    character(len=:), allocatable :: s
    character(len=24) :: buf
    write (buf, "(i0)") i
    s = trim(buf)
  end function str

  !> "(a, b, c)" from a list of extents.
  pure function shape_text(extents) result(s)
    integer(int64), intent(in) :: extents(:)
    character(len=:), allocatable :: s
    integer :: k
    s = "("
    do k = 1, size(extents)
      if (k > 1) s = s // ", "
      s = s // str(extents(k))
    end do
    s = s // ")"
  end function shape_text

  ! ======================================================================================
  ! cl_field
  ! ======================================================================================

  !> Descriptor of a contiguous array (or an invalid one, rank -1, if not contiguous).
  function field_of(p, dtype, extents, contiguous_) result(t)
    type(c_ptr), intent(in) :: p
    integer(c_int32_t), intent(in) :: dtype
    integer(c_int64_t), intent(in) :: extents(:)
    logical, intent(in) :: contiguous_
    type(cl_tensor) :: t
    t%data = c_null_ptr
    t%shape = 0
    if (.not. contiguous_) then
      t%dtype = dtype
      t%rank = -1_c_int32_t
      return
    end if
    t%data = p
    t%dtype = dtype
    t%rank = int(size(extents), c_int32_t)
    t%shape(1:size(extents)) = extents
  end function field_of

  !> `cl_field` for a real(real32) array of rank 1.
  function field_r32_1(array) result(t)
    real(real32), intent(in), target :: array(:)
    type(cl_tensor) :: t
    type(c_ptr) :: p
    p = c_null_ptr
    if (size(array) > 0 .and. is_contiguous(array)) p = c_loc(array)
    t = field_of(p, CL_FLOAT32, shape(array, kind=c_int64_t), is_contiguous(array))
  end function field_r32_1

  !> `cl_field` for a real(real32) array of rank 2.
  function field_r32_2(array) result(t)
    real(real32), intent(in), target :: array(:,:)
    type(cl_tensor) :: t
    type(c_ptr) :: p
    p = c_null_ptr
    if (size(array) > 0 .and. is_contiguous(array)) p = c_loc(array)
    t = field_of(p, CL_FLOAT32, shape(array, kind=c_int64_t), is_contiguous(array))
  end function field_r32_2

  !> `cl_field` for a real(real32) array of rank 3.
  function field_r32_3(array) result(t)
    real(real32), intent(in), target :: array(:,:,:)
    type(cl_tensor) :: t
    type(c_ptr) :: p
    p = c_null_ptr
    if (size(array) > 0 .and. is_contiguous(array)) p = c_loc(array)
    t = field_of(p, CL_FLOAT32, shape(array, kind=c_int64_t), is_contiguous(array))
  end function field_r32_3

  !> `cl_field` for a real(real32) array of rank 4.
  function field_r32_4(array) result(t)
    real(real32), intent(in), target :: array(:,:,:,:)
    type(cl_tensor) :: t
    type(c_ptr) :: p
    p = c_null_ptr
    if (size(array) > 0 .and. is_contiguous(array)) p = c_loc(array)
    t = field_of(p, CL_FLOAT32, shape(array, kind=c_int64_t), is_contiguous(array))
  end function field_r32_4

  !> `cl_field` for a real(real64) array of rank 1.
  function field_r64_1(array) result(t)
    real(real64), intent(in), target :: array(:)
    type(cl_tensor) :: t
    type(c_ptr) :: p
    p = c_null_ptr
    if (size(array) > 0 .and. is_contiguous(array)) p = c_loc(array)
    t = field_of(p, CL_FLOAT64, shape(array, kind=c_int64_t), is_contiguous(array))
  end function field_r64_1

  !> `cl_field` for a real(real64) array of rank 2.
  function field_r64_2(array) result(t)
    real(real64), intent(in), target :: array(:,:)
    type(cl_tensor) :: t
    type(c_ptr) :: p
    p = c_null_ptr
    if (size(array) > 0 .and. is_contiguous(array)) p = c_loc(array)
    t = field_of(p, CL_FLOAT64, shape(array, kind=c_int64_t), is_contiguous(array))
  end function field_r64_2

  !> `cl_field` for a real(real64) array of rank 3.
  function field_r64_3(array) result(t)
    real(real64), intent(in), target :: array(:,:,:)
    type(cl_tensor) :: t
    type(c_ptr) :: p
    p = c_null_ptr
    if (size(array) > 0 .and. is_contiguous(array)) p = c_loc(array)
    t = field_of(p, CL_FLOAT64, shape(array, kind=c_int64_t), is_contiguous(array))
  end function field_r64_3

  !> `cl_field` for a real(real64) array of rank 4.
  function field_r64_4(array) result(t)
    real(real64), intent(in), target :: array(:,:,:,:)
    type(cl_tensor) :: t
    type(c_ptr) :: p
    p = c_null_ptr
    if (size(array) > 0 .and. is_contiguous(array)) p = c_loc(array)
    t = field_of(p, CL_FLOAT64, shape(array, kind=c_int64_t), is_contiguous(array))
  end function field_r64_4

  ! ======================================================================================
  ! cl_layout_init
  ! ======================================================================================

  !> Check `chunk` and store it; false (and reported) if it is negative.
  logical function set_chunk(layout, chunk, stat, errmsg) result(ok)
    type(cl_layout), intent(inout) :: layout
    integer, intent(in), optional :: chunk
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    ok = .true.
    if (.not. present(chunk)) return
    if (chunk < 0) then
      ok = .false.
      call report(CL_ERR_ARGUMENT, "cl_layout_init: chunk must be >= 0 (0: no chunking), " // &
                  "given " // str(int(chunk, int64)), stat, errmsg)
      return
    end if
    layout%chunk = chunk
  end function set_chunk

  !> `cl_layout_init` without a mask: every column.
  subroutine init_all(layout, chunk, stat, errmsg)
    type(cl_layout), intent(out) :: layout
    integer, intent(in), optional :: chunk
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    if (.not. set_chunk(layout, chunk, stat, errmsg)) return
    if (present(stat)) stat = CL_OK
  end subroutine init_all

  !> `cl_layout_init` with a logical mask of the columns of `(ncol, ...)` fields.
  subroutine init_l1(layout, mask, chunk, stat, errmsg)
    type(cl_layout), intent(out) :: layout
    logical, intent(in) :: mask(:)
    integer, intent(in), optional :: chunk
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    integer :: c
    if (.not. set_chunk(layout, chunk, stat, errmsg)) return
    layout%mode = MODE_MASK1
    layout%colshape = [size(mask), 1]
    layout%idx = pack([(c, c = 1, size(mask))], mask)
    if (present(stat)) stat = CL_OK
  end subroutine init_l1

  !> `cl_layout_init` with a logical mask of the water columns of `(jpi, jpj, ...)` fields.
  subroutine init_l2(layout, mask, chunk, stat, errmsg)
    type(cl_layout), intent(out) :: layout
    logical, intent(in) :: mask(:,:)
    integer, intent(in), optional :: chunk
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    integer :: c
    if (.not. set_chunk(layout, chunk, stat, errmsg)) return
    layout%mode = MODE_MASK2
    layout%colshape = shape(mask)
    layout%idx = pack([(c, c = 1, size(mask))], reshape(mask, [size(mask)]))
    if (present(stat)) stat = CL_OK
  end subroutine init_l2

  !> `cl_layout_init` with a logical 3-D mask of the wet points of `(jpi, jpj, jpk)` fields.
  subroutine init_l3(layout, mask, chunk, stat, errmsg)
    type(cl_layout), intent(out) :: layout
    logical, intent(in) :: mask(:,:,:)
    integer, intent(in), optional :: chunk
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    integer :: c, ncols
    if (.not. set_chunk(layout, chunk, stat, errmsg)) return
    layout%mode = MODE_MASK3
    layout%colshape = [size(mask, 1), size(mask, 2)]
    layout%nk = size(mask, 3)
    ncols = size(mask, 1) * size(mask, 2)
    layout%wet = reshape(mask, [ncols, layout%nk])
    layout%idx = pack([(c, c = 1, ncols)], any(layout%wet, dim=2))
    if (present(stat)) stat = CL_OK
  end subroutine init_l3

  !> `cl_layout_init` with a real(real32) 2-D mask (positive = water).
  subroutine init_r32_2(layout, mask, chunk, stat, errmsg)
    type(cl_layout), intent(out) :: layout
    real(real32), intent(in) :: mask(:,:)
    integer, intent(in), optional :: chunk
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    call init_l2(layout, mask > 0.0_real32, chunk, stat, errmsg)
  end subroutine init_r32_2

  !> `cl_layout_init` with a real(real64) 2-D mask (positive = water).
  subroutine init_r64_2(layout, mask, chunk, stat, errmsg)
    type(cl_layout), intent(out) :: layout
    real(real64), intent(in) :: mask(:,:)
    integer, intent(in), optional :: chunk
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    call init_l2(layout, mask > 0.0_real64, chunk, stat, errmsg)
  end subroutine init_r64_2

  !> `cl_layout_init` with a real(real32) 3-D mask (positive = wet point).
  subroutine init_r32_3(layout, mask, chunk, stat, errmsg)
    type(cl_layout), intent(out) :: layout
    real(real32), intent(in) :: mask(:,:,:)
    integer, intent(in), optional :: chunk
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    call init_l3(layout, mask > 0.0_real32, chunk, stat, errmsg)
  end subroutine init_r32_3

  !> `cl_layout_init` with a real(real64) 3-D mask (positive = wet point).
  subroutine init_r64_3(layout, mask, chunk, stat, errmsg)
    type(cl_layout), intent(out) :: layout
    real(real64), intent(in) :: mask(:,:,:)
    integer, intent(in), optional :: chunk
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    call init_l3(layout, mask > 0.0_real64, chunk, stat, errmsg)
  end subroutine init_r64_3

  ! ======================================================================================
  ! Counters
  ! ======================================================================================

  !> What the layout has run since `cl_layout_init` or `cl_layout_reset_counts`: calls of
  !> `cl_layout_forward` that succeeded, columns run through the model, and columns the
  !> guard rejected (non-finite or out-of-range outputs).
  !>
  !> ```fortran
  !> call cl_layout_counts(ocean, ncolumns=ncol_run, nbad=nbad_total)
  !> if (nbad_total > 0) write (numout, *) 'ML fallback in ', nbad_total, ' of ', ncol_run
  !> ```
  subroutine cl_layout_counts(layout, ncalls, ncolumns, nbad)
    !> The layout.
    type(cl_layout), intent(in) :: layout
    !> Successful calls of `cl_layout_forward`.
    integer(int64), intent(out), optional :: ncalls
    !> Columns run through the model.
    integer(int64), intent(out), optional :: ncolumns
    !> Columns rejected by the guard.
    integer(int64), intent(out), optional :: nbad
    if (present(ncalls)) ncalls = layout%ncalls
    if (present(ncolumns)) ncolumns = layout%ncolumns
    if (present(nbad)) nbad = layout%nbad
  end subroutine cl_layout_counts

  !> Set the layout's counters to zero (buffers and mask are kept).
  subroutine cl_layout_reset_counts(layout)
    !> The layout.
    type(cl_layout), intent(inout) :: layout
    layout%ncalls = 0
    layout%ncolumns = 0
    layout%nbad = 0
  end subroutine cl_layout_reset_counts

  !> Number of columns a masked layout gathers (e.g. the water columns of a subdomain);
  !> -1 for a layout without a mask (every column of the fields given at each call).
  integer function cl_layout_num_columns(layout) result(n)
    !> The layout.
    type(cl_layout), intent(in) :: layout
    n = -1
    if (layout%mode /= MODE_ALL) n = size(layout%idx)
  end function cl_layout_num_columns

  ! ======================================================================================
  ! cl_layout_forward
  ! ======================================================================================

  !> Run `model` on the columns of host fields chosen by `layout`.
  !>
  !> `call cl_layout_forward(layout, model, inputs, outputs [, reference] [, valid_min]
  !> [, valid_max] [, bad] [, nbad] [, stat] [, errmsg])`
  !>
  !> `inputs(:)` and `outputs(:)` describe host fields (made by `cl_field` or
  !> `cl_tensor_wrap`) laid out with the columns first: `(klon[, nlev])` or
  !> `(jpi, jpj[, jpk])`, see the module documentation for how their levels map onto the
  !> model's inputs and outputs. Shapes are checked before the model runs, with messages
  !> giving the expected and the given values. On an error raised by the model itself
  !> (e.g. a non-finite input with the finite check on), the columns of the chunks already
  !> run have been written.
  !>
  !> Guard: every output value that would be written is checked (with a 3-D mask, values
  !> below the bottom are discarded unchecked); a column with a NaN/Inf, or a value below
  !> `valid_min` or above `valid_max`, is not written at all, and after the last chunk
  !> `reference(columns)` is called once with the rejected columns (flat host indices,
  !> ascending) if given. The check costs one pass over the outputs.
  !>
  !> ```fortran
  !> call cl_layout_forward(atm, model, [cl_field(t), cl_field(q)], &
  !>                        [cl_field(dtdt), cl_field(dqdt)], reference=bm_columns, &
  !>                        valid_min=[-1d-2, -1d-5], valid_max=[1d-2, 1d-5], nbad=nrej)
  !> ```
  subroutine cl_layout_forward(layout, model, inputs, outputs, reference, valid_min, &
                               valid_max, bad, nbad, stat, errmsg)
    !> Which columns, chunk size, work buffers and counters.
    type(cl_layout), intent(inout), target :: layout
    !> A loaded model whose inputs and outputs have a batch dimension last.
    type(cl_model), intent(in) :: model
    !> Host input fields, in the order the model's features expect.
    type(cl_tensor), intent(in) :: inputs(:)
    !> Host output fields, in the order of the model's output features.
    type(cl_tensor), intent(in) :: outputs(:)
    !> The reference scheme, called once with the rejected columns (if any).
    procedure(cl_reference_columns), optional :: reference
    !> Smallest valid value per output field (size 1: for all of them).
    real(real64), intent(in), optional :: valid_min(:)
    !> Largest valid value per output field (size 1: for all of them).
    real(real64), intent(in), optional :: valid_max(:)
    !> True for the columns rejected by the guard (false elsewhere, land included); rank 1
    !> with one element per host column, or the column shape of the layout (jpi, jpj).
    logical, intent(out), optional :: bad(..)
    !> Number of columns rejected in this call.
    integer, intent(out), optional :: nbad
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg

    type(field_info), allocatable :: fin(:), fout(:)
    type(side_info) :: min_, mout
    type(cl_tensor), allocatable :: tin(:), tout(:)
    integer, allocatable :: own_in(:), row_in(:), own_out(:), row_out(:), rejected(:)
    real(real64), allocatable :: lo(:), hi(:)
    integer :: ncols, nsel, nchunk, c0, nb, f, l, g, k, j, j1, j2, nrej, status, &
               colshape(2), ncd
    character(len=:), allocatable :: message
    character(len=512) :: last_message

    if (present(nbad)) nbad = 0
    if (.not. cl_model_is_loaded(model)) then
      call report(CL_ERR_STATE, WHO // "model is not loaded (call cl_model_load first " // &
                  "and check its stat)", stat, errmsg)
      return
    end if
    if (size(inputs) < 1 .or. size(outputs) < 1) then
      call report(CL_ERR_ARGUMENT, WHO // "give at least one input and one output field " // &
                  "(given " // str(int(size(inputs), int64)) // " and " // &
                  str(int(size(outputs), int64)) // ")", stat, errmsg)
      return
    end if

    ! ---- host fields: column dimensions and levels ----------------------------------
    ncd = 1
    if (layout%mode == MODE_MASK2 .or. layout%mode == MODE_MASK3) ncd = 2
    if (layout%mode == MODE_ALL) then
      colshape = [0, 1]
      if (inputs(1)%rank >= 1) colshape(1) = int(inputs(1)%shape(1))
    else
      colshape = layout%colshape
    end if
    call describe_fields(inputs, "input", .false., fin, status, message)
    if (status == CL_OK) call describe_fields(outputs, "output", .true., fout, status, message)
    if (status /= CL_OK) then
      call report(status, WHO // message, stat, errmsg)
      return
    end if
    ncols = colshape(1) * colshape(2)

    ! ---- model: features per input/output --------------------------------------------
    call describe_model(.true., fin, min_, status, message)
    if (status == CL_OK) call describe_model(.false., fout, mout, status, message)
    if (status /= CL_OK) then
      call report(status, WHO // message, stat, errmsg)
      return
    end if
    call map_features(fin, min_, own_in, row_in)
    call map_features(fout, mout, own_out, row_out)

    ! ---- guard ranges and the bad mask -----------------------------------------------
    call ranges(status, message)
    if (status == CL_OK .and. present(bad)) call check_bad_shape(status, message)
    if (status /= CL_OK) then
      call report(status, WHO // message, stat, errmsg)
      return
    end if

    ! ---- columns and chunks ----------------------------------------------------------
    if (layout%mode == MODE_ALL) then
      nsel = ncols
    else
      nsel = size(layout%idx)
    end if
    nchunk = nsel
    if (layout%chunk > 0) nchunk = min(layout%chunk, nsel)
    call prepare_buffers(max(nchunk, 1))
    allocate (tin(min_%n), tout(mout%n))
    nrej = 0

    do c0 = 0, nsel - 1, max(nchunk, 1)
      nb = min(nchunk, nsel - c0)
      if (layout%mode == MODE_ALL) then
        do j = 1, nb
          layout%cols(j) = c0 + j
        end do
      else
        layout%cols(1:nb) = layout%idx(c0 + 1:c0 + nb)
      end if
      ! gather: host (column, level) -> buffer (feature, column), by blocks of columns
      do j1 = 1, nb, BLOCK_COLS
        j2 = min(j1 + BLOCK_COLS - 1, nb)
        do f = 1, size(fin)
          do l = 1, fin(f)%nlev
            g = fin(f)%offset + l
            k = own_in(g)
            call pack_level(fin(f), l, layout%bin(k), min_%dtype(k), min_%nfeat(k), &
                            row_in(g), layout%cols, j1, j2)
          end do
        end do
      end do
      do k = 1, min_%n
        tin(k) = buffer_tensor(layout%bin(k), min_, k, nb)
      end do
      do k = 1, mout%n
        tout(k) = buffer_tensor(layout%bout(k), mout, k, nb)
      end do
      last_message = ""
      call cl_model_forward(model, tin, tout, stat=status, errmsg=last_message)
      if (status /= CL_OK) then
        call report(status, WHO // "the model failed on columns " // str(int(c0 + 1, int64)) &
                    // ".." // str(int(c0 + nb, int64)) // " of " // str(int(nsel, int64)) &
                    // ": " // trim(last_message), stat, errmsg)
        return
      end if
      ! guard, then scatter: buffer (feature, column) -> host (column, level)
      layout%ok(1:nb) = .true.
      do j1 = 1, nb, BLOCK_COLS
        j2 = min(j1 + BLOCK_COLS - 1, nb)
        do f = 1, size(fout)
          do l = 1, fout(f)%nlev
            g = fout(f)%offset + l
            k = own_out(g)
            call check_level(fout(f), l, layout%bout(k), mout%dtype(k), mout%nfeat(k), &
                             row_out(g), layout%cols, j1, j2, lo(g), hi(g), layout%ok, &
                             layout%wet, layout%nk)
          end do
        end do
        do f = 1, size(fout)
          do l = 1, fout(f)%nlev
            g = fout(f)%offset + l
            k = own_out(g)
            call unpack_level(fout(f), l, layout%bout(k), mout%dtype(k), mout%nfeat(k), &
                              row_out(g), layout%cols, layout%ok, j1, j2, layout%wet, &
                              layout%nk)
          end do
        end do
      end do
      if (.not. all(layout%ok(1:nb))) then
        if (.not. allocated(layout%badlist)) allocate (layout%badlist(0))
        if (size(layout%badlist) < nrej + nb) call grow(layout%badlist, max(nrej + nb, nsel))
        do j = 1, nb
          if (.not. layout%ok(j)) then
            nrej = nrej + 1
            layout%badlist(nrej) = layout%cols(j)
          end if
        end do
      end if
    end do

    layout%ncalls = layout%ncalls + 1
    layout%ncolumns = layout%ncolumns + nsel
    layout%nbad = layout%nbad + nrej
    if (present(nbad)) nbad = nrej
    if (present(bad)) call set_bad()
    if (present(stat)) stat = CL_OK
    if (nrej > 0 .and. present(reference)) then
      rejected = layout%badlist(1:nrej)
      call reference(rejected)
    end if

  contains

    !> Check the shapes of a list of host fields and describe them.
    subroutine describe_fields(list, what, is_output, info, status, message)
      type(cl_tensor), intent(in) :: list(:)
      character(len=*), intent(in) :: what
      logical, intent(in) :: is_output
      type(field_info), allocatable, intent(out) :: info(:)
      integer, intent(out) :: status
      character(len=:), allocatable, intent(out) :: message
      integer :: i, r, off
      integer(int64), allocatable :: given(:)
      character(len=:), allocatable :: name
      allocate (info(size(list)))
      status = CL_OK
      message = ""
      off = 0
      do i = 1, size(list)
        name = what // " field " // str(int(i, int64))
        r = int(list(i)%rank)
        if (r == -1) then
          status = CL_ERR_ARGUMENT
          message = name // " is not contiguous (pass a contiguous array to cl_field)"
          return
        end if
        if (list(i)%dtype /= CL_FLOAT32 .and. list(i)%dtype /= CL_FLOAT64) then
          status = CL_ERR_ARGUMENT
          message = name // " is not described (make it with cl_field or cl_tensor_wrap)"
          return
        end if
        if (r < ncd .or. r > CL_MAX_RANK) then
          status = CL_ERR_SHAPE
          message = name // " has rank " // str(int(r, int64)) // "; expected the column " // &
                    "dimensions " // shape_text(int(colshape(1:ncd), int64)) // &
                    " first, then any levels"
          return
        end if
        given = int(list(i)%shape(1:r), int64)
        if (any(given(1:ncd) /= colshape(1:ncd))) then
          status = CL_ERR_SHAPE
          message = name // " has shape " // shape_text(given) // "; expected the column " // &
                    "dimensions " // shape_text(int(colshape(1:ncd), int64)) // " first"
          if (layout%mode == MODE_ALL) message = message // " (as input field 1)"
          if (layout%mode /= MODE_ALL) message = message // " (the mask's shape)"
          return
        end if
        info(i)%data = list(i)%data
        info(i)%dtype = int(list(i)%dtype)
        info(i)%ncols = colshape(1) * colshape(2)
        info(i)%nlev = int(product(given(ncd + 1:r)))
        info(i)%offset = off
        off = off + info(i)%nlev
        if (is_output .and. layout%mode == MODE_MASK3 .and. r > 2) then
          if (given(3) /= layout%nk) then
            status = CL_ERR_SHAPE
            message = name // " has shape " // shape_text(given) // "; with a 3-D mask an " // &
                      "output's third dimension must be the mask's levels, expected " // &
                      shape_text([int(colshape(1), int64), int(colshape(2), int64), &
                                  int(layout%nk, int64)]) // " or a surface field " // &
                      shape_text(int(colshape, int64))
            return
          end if
          info(i)%pointwise = .true.
        end if
      end do
    end subroutine describe_fields

    !> Features per model input (is_input) or output, checked against the host fields.
    subroutine describe_model(is_input, info, side, status, message)
      logical, intent(in) :: is_input
      type(field_info), intent(in) :: info(:)
      type(side_info), intent(out) :: side
      integer, intent(out) :: status
      character(len=:), allocatable, intent(out) :: message
      integer(int64), allocatable :: shp(:)
      integer :: i, n, r, total
      character(len=:), allocatable :: what, listing
      character(len=256) :: msg
      what = merge("input ", "output", is_input)
      message = ""
      msg = ""
      if (is_input) then
        n = cl_model_num_inputs(model, stat=status, errmsg=msg)
      else
        n = cl_model_num_outputs(model, stat=status, errmsg=msg)
      end if
      if (status /= CL_OK) then
        message = trim(msg)
        return
      end if
      total = sum(info%nlev)
      if (n < 0) then
        ! no metadata: one (features, batch) array of the first host input's kind
        side%n = 1
        allocate (side%nfeat(1), side%dtype(1), side%offset(1), side%rank(1))
        allocate (side%shp(CL_MAX_RANK, 1))
        side%nfeat = total
        side%dtype = fin(1)%dtype
        side%offset = 0
        side%rank = 2
        side%shp = 0
        side%shp(1:2, 1) = [int(total, c_int64_t), -1_c_int64_t]
        return
      end if
      side%n = n
      allocate (side%nfeat(n), side%dtype(n), side%offset(n), side%rank(n))
      allocate (side%shp(CL_MAX_RANK, n))
      side%shp = 0
      listing = ""
      do i = 1, n
        if (is_input) then
          call cl_model_input_shape(model, i, shp, stat=status, errmsg=msg)
          if (status == CL_OK) side%dtype(i) = cl_model_input_dtype(model, i, stat=status, &
                                                                    errmsg=msg)
        else
          call cl_model_output_shape(model, i, shp, stat=status, errmsg=msg)
          if (status == CL_OK) side%dtype(i) = cl_model_output_dtype(model, i, stat=status, &
                                                                     errmsg=msg)
        end if
        if (status /= CL_OK) then
          message = trim(msg)
          return
        end if
        r = size(shp)
        if (r < 1) then
          status = CL_ERR_SHAPE
          message = "model " // trim(what) // " '" // side_name(is_input, i) // "' has no batch dimension"
          return
        end if
        if (shp(r) /= -1 .or. any(shp(1:r - 1) < 0)) then
          status = CL_ERR_SHAPE
          message = "model " // trim(what) // " '" // side_name(is_input, i) // "' has shape " // &
                    shape_text(shp) // "; a layout needs fixed features and the batch " // &
                    "(-1) last"
          return
        end if
        side%rank(i) = r
        side%shp(1:r, i) = shp
        side%nfeat(i) = int(product(shp(1:r - 1)))
        side%offset(i) = 0
        if (i > 1) side%offset(i) = side%offset(i - 1) + side%nfeat(i - 1)
      end do
      if (sum(side%nfeat) /= total) then
        ! names are fetched for the message only (they cost string copies on every call)
        listing = ""
        do i = 1, n
          if (i > 1) listing = listing // ", "
          listing = listing // side_name(is_input, i) // ": " // str(int(side%nfeat(i), int64))
        end do
        status = CL_ERR_SHAPE
        message = "the model's " // trim(what) // "s take " // &
                  str(int(sum(side%nfeat), int64)) // " features per column (" // listing // &
                  "), the host " // trim(what) // " fields give " // str(int(total, int64)) // &
                  " (" // field_listing(info) // ")"
        return
      end if
    end subroutine describe_model

    !> Name of model input/output i, for messages ("?" if it cannot be read).
    function side_name(is_input, i) result(name)
      logical, intent(in) :: is_input
      integer, intent(in) :: i
      character(len=:), allocatable :: name
      integer :: st
      if (is_input) then
        name = cl_model_input_name(model, i, stat=st)
      else
        name = cl_model_output_name(model, i, stat=st)
      end if
      if (st /= CL_OK) name = "?"
    end function side_name

    !> "field 1: 20, field 2: 1" (levels per field).
    function field_listing(info) result(s)
      type(field_info), intent(in) :: info(:)
      character(len=:), allocatable :: s
      integer :: i
      s = ""
      do i = 1, size(info)
        if (i > 1) s = s // ", "
        s = s // "field " // str(int(i, int64)) // ": " // str(int(info(i)%nlev, int64))
      end do
    end function field_listing

    !> Owner (model input/output) and row in it of every concatenated feature.
    subroutine map_features(info, side, owner, row)
      type(field_info), intent(in) :: info(:)
      type(side_info), intent(in) :: side
      integer, allocatable, intent(out) :: owner(:), row(:)
      integer :: i, r, g
      allocate (owner(sum(info%nlev)), row(sum(info%nlev)))
      g = 0
      do i = 1, side%n
        do r = 1, side%nfeat(i)
          g = g + 1
          owner(g) = i
          row(g) = r
        end do
      end do
    end subroutine map_features

    !> Valid range per concatenated output feature.
    subroutine ranges(status, message)
      integer, intent(out) :: status
      character(len=:), allocatable, intent(out) :: message
      integer :: i
      status = CL_OK
      message = ""
      allocate (lo(sum(fout%nlev)), hi(sum(fout%nlev)))
      lo = -huge(1.0_real64)
      hi = huge(1.0_real64)
      if (present(valid_min)) then
        if (size(valid_min) /= 1 .and. size(valid_min) /= size(outputs)) then
          status = CL_ERR_ARGUMENT
          message = "valid_min has " // str(int(size(valid_min), int64)) // " values; " // &
                    "expected 1 or one per output field (" // str(int(size(outputs), int64)) // ")"
          return
        end if
        do i = 1, size(fout)
          lo(fout(i)%offset + 1:fout(i)%offset + fout(i)%nlev) = &
            valid_min(min(i, size(valid_min)))
        end do
      end if
      if (present(valid_max)) then
        if (size(valid_max) /= 1 .and. size(valid_max) /= size(outputs)) then
          status = CL_ERR_ARGUMENT
          message = "valid_max has " // str(int(size(valid_max), int64)) // " values; " // &
                    "expected 1 or one per output field (" // str(int(size(outputs), int64)) // ")"
          return
        end if
        do i = 1, size(fout)
          hi(fout(i)%offset + 1:fout(i)%offset + fout(i)%nlev) = &
            valid_max(min(i, size(valid_max)))
        end do
      end if
    end subroutine ranges

    !> The optional `bad` must have one element per host column, flat or in column shape.
    subroutine check_bad_shape(status, message)
      integer, intent(out) :: status
      character(len=:), allocatable, intent(out) :: message
      integer(int64), allocatable :: given(:)
      status = CL_OK
      message = ""
      given = shape(bad, kind=int64)
      if (rank(bad) == 1 .and. size(bad) == ncols) return
      if (rank(bad) == ncd) then
        if (all(given == colshape(1:ncd))) return
      end if
      status = CL_ERR_SHAPE
      message = "bad has shape " // shape_text(given) // "; expected " // &
                shape_text(int(colshape(1:ncd), int64))
      if (ncd == 2) message = message // " or (" // str(int(ncols, int64)) // ")"
    end subroutine check_bad_shape

    !> Set `bad` from the list of rejected columns.
    subroutine set_bad()
      integer :: n, c
      select rank (bad)
      rank (1)
        bad = .false.
        do n = 1, nrej
          bad(layout%badlist(n)) = .true.
        end do
      rank (2)
        bad = .false.
        do n = 1, nrej
          c = layout%badlist(n)
          bad(mod(c - 1, colshape(1)) + 1, (c - 1) / colshape(1) + 1) = .true.
        end do
      end select
    end subroutine set_bad

    !> Work buffers for `n` columns in the model's dtypes (grown, never shrunk).
    subroutine prepare_buffers(n)
      integer, intent(in) :: n
      if (.not. allocated(layout%bin)) allocate (layout%bin(0))
      if (.not. allocated(layout%bout)) allocate (layout%bout(0))
      if (size(layout%bin) < min_%n) call grow_buffers(layout%bin, min_%n)
      if (size(layout%bout) < mout%n) call grow_buffers(layout%bout, mout%n)
      do k = 1, min_%n
        call size_buffer(layout%bin(k), min_%dtype(k), min_%nfeat(k) * n)
      end do
      do k = 1, mout%n
        call size_buffer(layout%bout(k), mout%dtype(k), mout%nfeat(k) * n)
      end do
      if (.not. allocated(layout%cols)) allocate (layout%cols(0), layout%ok(0))
      if (size(layout%cols) < n) then
        deallocate (layout%cols, layout%ok)
        allocate (layout%cols(n), layout%ok(n))
      end if
    end subroutine prepare_buffers

    !> Descriptor of buffer k of a side for a chunk of `nb` columns.
    function buffer_tensor(buf, side, k, nb) result(t)
      type(work_buffer), intent(in), target :: buf
      type(side_info), intent(in) :: side
      integer, intent(in) :: k, nb
      type(cl_tensor) :: t
      integer :: r
      r = side%rank(k)
      t%data = c_null_ptr
      t%dtype = int(side%dtype(k), c_int32_t)
      t%rank = int(r, c_int32_t)
      t%shape = 0
      t%shape(1:r) = side%shp(1:r, k)
      t%shape(r) = int(nb, c_int64_t)
      if (side%nfeat(k) * nb > 0) then
        if (side%dtype(k) == CL_FLOAT32) then
          t%data = c_loc(buf%r32)
        else
          t%data = c_loc(buf%r64)
        end if
      end if
    end function buffer_tensor

  end subroutine cl_layout_forward

  ! ======================================================================================
  ! Work buffers, gather, guard, scatter
  ! ======================================================================================

  !> Grow an array of work buffers to `n`, keeping the existing ones.
  subroutine grow_buffers(bufs, n)
    type(work_buffer), allocatable, intent(inout) :: bufs(:)
    integer, intent(in) :: n
    type(work_buffer), allocatable :: tmp(:)
    integer :: k
    allocate (tmp(n))
    do k = 1, size(bufs)
      if (allocated(bufs(k)%r32)) call move_alloc(bufs(k)%r32, tmp(k)%r32)
      if (allocated(bufs(k)%r64)) call move_alloc(bufs(k)%r64, tmp(k)%r64)
    end do
    call move_alloc(tmp, bufs)
  end subroutine grow_buffers

  !> Make sure the buffer holds at least `n` values of `dtype`.
  subroutine size_buffer(buf, dtype, n)
    type(work_buffer), intent(inout) :: buf
    integer, intent(in) :: dtype, n
    if (dtype == CL_FLOAT32) then
      if (.not. allocated(buf%r32)) allocate (buf%r32(0))
      if (size(buf%r32) < n) then
        deallocate (buf%r32)
        allocate (buf%r32(n))
      end if
    else
      if (.not. allocated(buf%r64)) allocate (buf%r64(0))
      if (size(buf%r64) < n) then
        deallocate (buf%r64)
        allocate (buf%r64(n))
      end if
    end if
  end subroutine size_buffer

  !> Grow an integer list to `n` elements, keeping its content.
  subroutine grow(list, n)
    integer, allocatable, intent(inout) :: list(:)
    integer, intent(in) :: n
    integer, allocatable :: tmp(:)
    allocate (tmp(n))
    tmp(1:size(list)) = list
    call move_alloc(tmp, list)
  end subroutine grow

  !> Gather level `l` of a host field into row `r` of a buffer `(nfeat, nb)`:
  !> `buf(r, j) = field(cols(j), l)` for j = j1..j2, converting the kind if needed.
  subroutine pack_level(fi, l, buf, dtype, nfeat, r, cols, j1, j2)
    type(field_info), intent(in) :: fi
    integer, intent(in) :: l, dtype, nfeat, r, j1, j2
    type(work_buffer), intent(inout) :: buf
    integer, intent(in) :: cols(:)
    real(real32), pointer :: s32(:)
    real(real64), pointer :: s64(:)
    integer :: j, base
    base = (l - 1) * fi%ncols
    if (fi%dtype == CL_FLOAT32) then
      call c_f_pointer(fi%data, s32, [fi%ncols * fi%nlev])
      if (dtype == CL_FLOAT32) then
        do j = j1, j2
          buf%r32((j - 1) * nfeat + r) = s32(base + cols(j))
        end do
      else
        do j = j1, j2
          buf%r64((j - 1) * nfeat + r) = real(s32(base + cols(j)), real64)
        end do
      end if
    else
      call c_f_pointer(fi%data, s64, [fi%ncols * fi%nlev])
      if (dtype == CL_FLOAT32) then
        do j = j1, j2
          buf%r32((j - 1) * nfeat + r) = real(s64(base + cols(j)), real32)
        end do
      else
        do j = j1, j2
          buf%r64((j - 1) * nfeat + r) = s64(base + cols(j))
        end do
      end if
    end if
  end subroutine pack_level

  !> Scatter row `r` of a buffer `(nfeat, nb)` into level `l` of a host field, for the
  !> columns j1..j2 accepted (`ok`) and, for a pointwise output, the wet points only.
  subroutine unpack_level(fo, l, buf, dtype, nfeat, r, cols, ok, j1, j2, wet, nk)
    type(field_info), intent(in) :: fo
    integer, intent(in) :: l, dtype, nfeat, r, j1, j2, nk
    type(work_buffer), intent(in) :: buf
    integer, intent(in) :: cols(:)
    logical, intent(in) :: ok(:)
    logical, allocatable, intent(in) :: wet(:,:)
    real(real32), pointer :: d32(:)
    real(real64), pointer :: d64(:)
    integer :: j, base, kw
    base = (l - 1) * fo%ncols
    kw = 0
    if (fo%pointwise) kw = mod(l - 1, nk) + 1
    if (kw == 0 .and. fo%dtype == dtype .and. all(ok(j1:j2))) then
      ! the common case: every column accepted, same kind: a plain strided copy
      if (dtype == CL_FLOAT32) then
        call c_f_pointer(fo%data, d32, [fo%ncols * fo%nlev])
        do j = j1, j2
          d32(base + cols(j)) = buf%r32((j - 1) * nfeat + r)
        end do
      else
        call c_f_pointer(fo%data, d64, [fo%ncols * fo%nlev])
        do j = j1, j2
          d64(base + cols(j)) = buf%r64((j - 1) * nfeat + r)
        end do
      end if
      return
    end if
    if (fo%dtype == CL_FLOAT32) then
      call c_f_pointer(fo%data, d32, [fo%ncols * fo%nlev])
      do j = j1, j2
        if (.not. ok(j)) cycle
        if (kw > 0) then
          if (.not. wet(cols(j), kw)) cycle
        end if
        if (dtype == CL_FLOAT32) then
          d32(base + cols(j)) = buf%r32((j - 1) * nfeat + r)
        else
          d32(base + cols(j)) = real(buf%r64((j - 1) * nfeat + r), real32)
        end if
      end do
    else
      call c_f_pointer(fo%data, d64, [fo%ncols * fo%nlev])
      do j = j1, j2
        if (.not. ok(j)) cycle
        if (kw > 0) then
          if (.not. wet(cols(j), kw)) cycle
        end if
        if (dtype == CL_FLOAT32) then
          d64(base + cols(j)) = real(buf%r32((j - 1) * nfeat + r), real64)
        else
          d64(base + cols(j)) = buf%r64((j - 1) * nfeat + r)
        end if
      end do
    end if
  end subroutine unpack_level

  !> The guard on row `r` of an output buffer `(nfeat, nb)`, level `l` of output field
  !> `fo`: clear `ok(j)` for a column with a non-finite value or a value outside
  !> [lo, hi] at a point that would be written (wet points only for a pointwise field);
  !> columns j1..j2 of the chunk.
  subroutine check_level(fo, l, buf, dtype, nfeat, r, cols, j1, j2, lo, hi, ok, wet, nk)
    type(field_info), intent(in) :: fo
    integer, intent(in) :: l, dtype, nfeat, r, j1, j2, nk
    type(work_buffer), intent(in) :: buf
    integer, intent(in) :: cols(:)
    real(real64), intent(in) :: lo, hi
    logical, intent(inout) :: ok(:)
    logical, allocatable, intent(in) :: wet(:,:)
    integer :: j, kw
    real(real64) :: v
    kw = 0
    if (fo%pointwise) kw = mod(l - 1, nk) + 1
    if (kw == 0) then
      ! no wet test: one branch-free pass (NaN fails v == v; -huge..huge bounds pass)
      if (dtype == CL_FLOAT32) then
        do j = j1, j2
          v = real(buf%r32((j - 1) * nfeat + r), real64)
          ok(j) = ok(j) .and. v >= lo .and. v <= hi .and. abs(v) <= huge(v)
        end do
      else
        do j = j1, j2
          v = buf%r64((j - 1) * nfeat + r)
          ok(j) = ok(j) .and. v >= lo .and. v <= hi .and. abs(v) <= huge(v)
        end do
      end if
      return
    end if
    do j = j1, j2
      if (.not. ok(j)) cycle
      if (kw > 0) then
        if (.not. wet(cols(j), kw)) cycle
      end if
      if (dtype == CL_FLOAT32) then
        v = real(buf%r32((j - 1) * nfeat + r), real64)
      else
        v = buf%r64((j - 1) * nfeat + r)
      end if
      ! a NaN fails both comparisons, so finiteness is tested explicitly
      if (.not. ieee_is_finite(v) .or. v < lo .or. v > hi) ok(j) = .false.
    end do
  end subroutine check_level

end module climlearn_layouts
