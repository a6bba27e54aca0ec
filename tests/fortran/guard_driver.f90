!> Test driver: the guard of cl_layout_forward falls back to a reference scheme.
!> usage: guard_driver MODEL KIND NCOL NLEV CHUNK VMIN VMAX IN.bin OUT.bin
!> IN.bin holds x(ncol, nlev) as raw real64; host arrays are real(KIND). The model maps
!> x (nlev features) to y (nlev). The call is made twice with a reference scheme that
!> writes y(ic, :) = 1000 + ic in the columns it is given, valid range [VMIN, VMAX].
!> OUT.bin receives y (real64) and bad (0/1 per column) of the second call.
!> Prints "NBAD n" per call, "REF c1 c2 ..." (columns the reference got, first call),
!> "COUNTS ncalls ncolumns nbad".
module guard_state
  use, intrinsic :: iso_fortran_env, only: real32, real64, output_unit
  implicit none
  integer :: kind_, call_no
  real(real64), allocatable, target :: x8(:,:), y8(:,:)
  real(real32), allocatable, target :: x4(:,:), y4(:,:)

contains

  !> The "reference scheme": a recognisable value in each column it is given. A module
  !> procedure reaching the host's arrays by use association (an internal procedure
  !> would work too, but gfortran then needs an executable stack for its trampoline).
  subroutine reference_columns(columns)
    integer, intent(in) :: columns(:)
    integer :: n
    if (call_no == 1) write (output_unit, '(a, *(1x, i0))') 'REF', columns
    do n = 1, size(columns)
      if (kind_ == 4) then
        y4(columns(n), :) = 1000.0 + columns(n)
      else
        y8(columns(n), :) = 1000.0d0 + columns(n)
      end if
    end do
  end subroutine reference_columns
end module guard_state

program guard_driver
  use, intrinsic :: iso_fortran_env, only: real32, real64, int64, error_unit, output_unit
  use climlearn
  use guard_state
  implicit none

  type(cl_model) :: model
  type(cl_layout) :: layout
  integer :: ncol, nlev, chunk, stat, u, nbad
  integer(int64) :: ncalls, ncolumns, nbad_total
  real(real64) :: vmin, vmax
  character(len=1024) :: path, fin, fout, arg, msg
  real(real64), allocatable :: x(:,:)
  logical, allocatable :: bad(:)

  call get_command_argument(1, path)
  kind_ = int_arg(2)
  ncol = int_arg(3)
  nlev = int_arg(4)
  chunk = int_arg(5)
  call get_command_argument(6, arg)
  read (arg, *) vmin
  call get_command_argument(7, arg)
  read (arg, *) vmax
  call get_command_argument(8, fin)
  call get_command_argument(9, fout)

  call cl_model_load(model, trim(path), stat=stat, errmsg=msg)
  call check('load')
  allocate (x(ncol, nlev), bad(ncol))
  open (newunit=u, file=trim(fin), access='stream', form='unformatted', status='old')
  read (u) x
  close (u)
  call cl_layout_init(layout, chunk=chunk, stat=stat, errmsg=msg)
  call check('init')
  if (kind_ == 4) then
    x4 = real(x, real32)
    allocate (y4(ncol, nlev))
  else
    x8 = x
    allocate (y8(ncol, nlev))
  end if

  do call_no = 1, 2
    if (kind_ == 4) then
      y4 = -77.0
      call cl_layout_forward(layout, model, [cl_field(x4)], [cl_field(y4)], &
                             reference=reference_columns, valid_min=[vmin], &
                             valid_max=[vmax], bad=bad, nbad=nbad, stat=stat, errmsg=msg)
    else
      y8 = -77.0d0
      call cl_layout_forward(layout, model, [cl_field(x8)], [cl_field(y8)], &
                             reference=reference_columns, valid_min=[vmin], &
                             valid_max=[vmax], bad=bad, nbad=nbad, stat=stat, errmsg=msg)
    end if
    call check('layout forward')
    write (output_unit, '(a, 1x, i0)') 'NBAD', nbad
  end do
  call cl_layout_counts(layout, ncalls, ncolumns, nbad_total)
  write (output_unit, '(a, 3(1x, i0))') 'COUNTS', ncalls, ncolumns, nbad_total

  open (newunit=u, file=trim(fout), access='stream', form='unformatted', status='replace')
  if (kind_ == 4) then
    write (u) real(y4, real64), merge(1.0d0, 0.0d0, bad)
  else
    write (u) y8, merge(1.0d0, 0.0d0, bad)
  end if
  close (u)

contains

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
end program guard_driver
