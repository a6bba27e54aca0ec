!> Test driver: LMDZ-style column call of cl_layout_forward.
!> usage: columns_driver MODEL KIND KLON KLEV CHUNK IN.bin OUT.bin
!> IN.bin holds t(klon,klev), q(klon,klev), ps(klon) as raw real64 in Fortran order; the
!> host arrays are real(KIND) (4 or 8). The model maps [t, q, ps] (2*klev+1 features, in
!> one or several inputs) to [dtdt, dqdt] (2*klev features). OUT.bin receives, as real64:
!>   1. dtdt, dqdt from a default layout (every column, one model call);
!>   2. dtdt, dqdt from a layout with chunk=CHUNK;
!>   3. dtdt, dqdt from a loop over columns of cl_model_forward on x(2*klev+1, 1)
!>      (zeros for a model with several inputs);
!>   4. t, q after an in-place call whose outputs are the inputs t and q.
program columns_driver
  use, intrinsic :: iso_fortran_env, only: real32, real64, int64, error_unit
  use climlearn
  implicit none

  type(cl_model) :: model
  type(cl_layout) :: whole, chunked
  integer :: kind_, klon, klev, chunk, stat, u, ic
  integer(int64) :: ncalls, ncolumns, nbad
  character(len=1024) :: path, fin, fout, arg, msg
  real(real64), allocatable :: t(:,:), q(:,:), ps(:), res(:,:,:)
  real(real64), allocatable, target :: t8(:,:), q8(:,:), ps8(:), dt8(:,:), dq8(:,:)
  real(real32), allocatable, target :: t4(:,:), q4(:,:), ps4(:), dt4(:,:), dq4(:,:)
  real(real32), allocatable :: x4(:,:), y4(:,:)
  real(real64), allocatable :: x8(:,:), y8(:,:)

  call get_command_argument(1, path)
  kind_ = int_arg(2)
  klon = int_arg(3)
  klev = int_arg(4)
  chunk = int_arg(5)
  call get_command_argument(6, fin)
  call get_command_argument(7, fout)

  call cl_model_load(model, trim(path), stat=stat, errmsg=msg)
  call check('load')
  allocate (t(klon, klev), q(klon, klev), ps(klon), res(klon, klev, 8))
  open (newunit=u, file=trim(fin), access='stream', form='unformatted', status='old')
  read (u) t, q, ps
  close (u)
  res = 0

  ! 1. whole batch, default layout (never initialised)
  call set_host()
  call run(whole)
  call get_out(1)
  ! 2. chunked
  call cl_layout_init(chunked, chunk=chunk, stat=stat, errmsg=msg)
  call check('init')
  call set_host()
  call run(chunked)
  call get_out(3)
  call cl_layout_counts(chunked, ncalls, ncolumns, nbad)
  if (ncalls /= 1 .or. ncolumns /= klon .or. nbad /= 0) error stop 'counts'
  if (cl_layout_num_columns(chunked) /= -1) error stop 'num_columns'
  ! 3. per-column loop of cl_model_forward (single-input models)
  if (cl_model_num_inputs(model) == 1) then
    if (cl_model_input_dtype(model, 1) == CL_FLOAT32) then
      allocate (x4(2 * klev + 1, 1), y4(2 * klev, 1))
      do ic = 1, klon
        x4(:, 1) = real([t(ic, :), q(ic, :), ps(ic)], real32)
        call cl_model_forward(model, x4, y4, stat=stat, errmsg=msg)
        call check('loop')
        res(ic, :, 5) = real(y4(1:klev, 1), real64)
        res(ic, :, 6) = real(y4(klev + 1:, 1), real64)
      end do
    else
      allocate (x8(2 * klev + 1, 1), y8(2 * klev, 1))
      do ic = 1, klon
        x8(:, 1) = [t(ic, :), q(ic, :), ps(ic)]
        if (kind_ == 4) x8(:, 1) = real(real([t(ic, :), q(ic, :), ps(ic)], real32), real64)
        call cl_model_forward(model, x8, y8, stat=stat, errmsg=msg)
        call check('loop')
        res(ic, :, 5) = y8(1:klev, 1)
        res(ic, :, 6) = y8(klev + 1:, 1)
      end do
    end if
    ! the layout stores into the host's kind
    if (kind_ == 4) res(:, :, 5:6) = real(real(res(:, :, 5:6), real32), real64)
  end if
  ! 4. in place: the outputs overwrite the inputs t and q
  call set_host()
  if (kind_ == 4) then
    call cl_layout_forward(chunked, model, [cl_field(t4), cl_field(q4), cl_field(ps4)], &
                           [cl_field(t4), cl_field(q4)], stat=stat, errmsg=msg)
    call check('in place')
    res(:, :, 7) = real(t4, real64)
    res(:, :, 8) = real(q4, real64)
  else
    call cl_layout_forward(chunked, model, [cl_field(t8), cl_field(q8), cl_field(ps8)], &
                           [cl_field(t8), cl_field(q8)], stat=stat, errmsg=msg)
    call check('in place')
    res(:, :, 7) = t8
    res(:, :, 8) = q8
  end if

  open (newunit=u, file=trim(fout), access='stream', form='unformatted', status='replace')
  write (u) res
  close (u)

contains

  !> Host arrays of the chosen kind from the real64 input; outputs set to a marker.
  subroutine set_host()
    if (kind_ == 4) then
      t4 = real(t, real32)
      q4 = real(q, real32)
      ps4 = real(ps, real32)
      if (.not. allocated(dt4)) allocate (dt4(klon, klev), dq4(klon, klev))
      dt4 = -999.0
      dq4 = -999.0
    else
      t8 = t
      q8 = q
      ps8 = ps
      if (.not. allocated(dt8)) allocate (dt8(klon, klev), dq8(klon, klev))
      dt8 = -999.0d0
      dq8 = -999.0d0
    end if
  end subroutine set_host

  !> The one-line column call.
  subroutine run(layout)
    type(cl_layout), intent(inout) :: layout
    if (kind_ == 4) then
      call cl_layout_forward(layout, model, [cl_field(t4), cl_field(q4), cl_field(ps4)], &
                             [cl_field(dt4), cl_field(dq4)], stat=stat, errmsg=msg)
    else
      call cl_layout_forward(layout, model, [cl_field(t8), cl_field(q8), cl_field(ps8)], &
                             [cl_field(dt8), cl_field(dq8)], stat=stat, errmsg=msg)
    end if
    call check('layout forward')
  end subroutine run

  subroutine get_out(slot)
    integer, intent(in) :: slot
    if (kind_ == 4) then
      res(:, :, slot) = real(dt4, real64)
      res(:, :, slot + 1) = real(dq4, real64)
    else
      res(:, :, slot) = dt8
      res(:, :, slot + 1) = dq8
    end if
  end subroutine get_out

  subroutine check(what)
    character(len=*), intent(in) :: what
    if (stat /= CL_OK) then
      write (error_unit, '(3a)') what, ': ', trim(msg)
      error stop 3
    end if
  end subroutine check

  integer function int_arg(i)
    integer, intent(in) :: i
    call get_command_argument(i, arg)
    read (arg, *) int_arg
  end function int_arg
end program columns_driver
