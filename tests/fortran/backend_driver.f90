!> Test driver for backend selection (native kernel vs TorchScript).
!> usage:
!>   backend_driver compare MODEL KIND NIN NOUT NCOL IN.bin OUT_TS.bin OUT_AUTO.bin
!>       run the model loaded with backend "torchscript" and with the default ("auto") on
!>       x(NIN, NCOL) read from IN.bin (raw, Fortran order, KIND 4 or 8); write both outputs;
!>       print "BACKEND_TS <name>" and "BACKEND_AUTO <name>".
!>   backend_driver pair MODEL OTHER BACKEND KIND NIN NOUT NCOL IN.bin OUT_TS.bin OUT_OTHER.bin
!>       as compare, but the second model is the file OTHER loaded with BACKEND (e.g. the
!>       .pt2 package of the same network with "aot"); prints "BACKEND_OTHER <name>".
!>   backend_driver load MODEL BACKEND
!>       load with that backend; print "STAT <n>", "MSG <errmsg>", "BACKEND <name>".
!>   backend_driver bad MODEL NIN NOUT
!>       a float32 model loaded with backend "native": wrong shape, wrong dtype, NaN with
!>       the check on; print "CASE <name> STAT <n>" then "MSG <errmsg>" for each.
program backend_driver
  use, intrinsic :: iso_fortran_env, only: real32, real64, error_unit
  use, intrinsic :: ieee_arithmetic, only: ieee_value, ieee_quiet_nan
  use climlearn
  implicit none

  type(cl_model) :: ts, auto
  character(len=1024) :: mode, path, arg, fin, fts, fauto, msg, other, be
  integer :: kind_, nin, nout, ncol, stat

  call get_command_argument(1, mode)
  call get_command_argument(2, path)
  select case (trim(mode))
  case ('compare')
    kind_ = int_arg(3)
    nin = int_arg(4)
    nout = int_arg(5)
    ncol = int_arg(6)
    call get_command_argument(7, fin)
    call get_command_argument(8, fts)
    call get_command_argument(9, fauto)
    call cl_model_load(ts, trim(path), backend='torchscript')
    call cl_model_load(auto, trim(path))
    print '(2a)', 'BACKEND_TS ', cl_model_backend(ts)
    print '(2a)', 'BACKEND_AUTO ', cl_model_backend(auto)
    if (kind_ == 4) then
      call compare32()
    else
      call compare64()
    end if
  case ('pair')
    call get_command_argument(3, other)
    call get_command_argument(4, be)
    kind_ = int_arg(5)
    nin = int_arg(6)
    nout = int_arg(7)
    ncol = int_arg(8)
    call get_command_argument(9, fin)
    call get_command_argument(10, fts)
    call get_command_argument(11, fauto)
    call cl_model_load(ts, trim(path), backend='torchscript')
    call cl_model_load(auto, trim(other), backend=trim(be))
    print '(2a)', 'BACKEND_TS ', cl_model_backend(ts)
    print '(2a)', 'BACKEND_OTHER ', cl_model_backend(auto)
    if (kind_ == 4) then
      call compare32()
    else
      call compare64()
    end if
  case ('load')
    call get_command_argument(3, arg)
    msg = ''
    call cl_model_load(auto, trim(path), backend=trim(arg), stat=stat, errmsg=msg)
    print '(a, i0)', 'STAT ', stat
    print '(2a)', 'MSG ', trim(msg)
    if (stat == CL_OK) print '(2a)', 'BACKEND ', cl_model_backend(auto)
  case ('bad')
    nin = int_arg(3)
    nout = int_arg(4)
    call cl_model_load(auto, trim(path), backend='native', check_finite=.true.)
    print '(2a)', 'BACKEND ', cl_model_backend(auto)
    call bad_cases()
  case default
    write (error_unit, '(2a)') 'unknown mode ', trim(mode)
    error stop 2
  end select

contains

  integer function int_arg(n)
    integer, intent(in) :: n
    call get_command_argument(n, arg)
    read (arg, *) int_arg
  end function int_arg

  subroutine compare32()
    real(real32), allocatable :: x(:,:), y1(:,:), y2(:,:)
    integer :: u
    allocate (x(nin, ncol), y1(nout, ncol), y2(nout, ncol))
    open (newunit=u, file=trim(fin), access='stream', form='unformatted', status='old')
    read (u) x
    close (u)
    call cl_model_forward(ts, x, y1)
    call cl_model_forward(auto, x, y2)
    call cl_model_forward(auto, x(:, 1:ncol / 2), y2(:, 1:ncol / 2))  ! a smaller batch in between
    call cl_model_forward(auto, x, y2)
    open (newunit=u, file=trim(fts), access='stream', form='unformatted', status='replace')
    write (u) y1
    close (u)
    open (newunit=u, file=trim(fauto), access='stream', form='unformatted', status='replace')
    write (u) y2
    close (u)
  end subroutine compare32

  subroutine compare64()
    real(real64), allocatable :: x(:,:), y1(:,:), y2(:,:)
    integer :: u
    allocate (x(nin, ncol), y1(nout, ncol), y2(nout, ncol))
    open (newunit=u, file=trim(fin), access='stream', form='unformatted', status='old')
    read (u) x
    close (u)
    call cl_model_forward(ts, x, y1)
    call cl_model_forward(auto, x, y2)
    call cl_model_forward(auto, x(:, 1:ncol / 2), y2(:, 1:ncol / 2))
    call cl_model_forward(auto, x, y2)
    open (newunit=u, file=trim(fts), access='stream', form='unformatted', status='replace')
    write (u) y1
    close (u)
    open (newunit=u, file=trim(fauto), access='stream', form='unformatted', status='replace')
    write (u) y2
    close (u)
  end subroutine compare64

  subroutine show(name)
    character(len=*), intent(in) :: name
    print '(3a, i0)', 'CASE ', name, ' STAT ', stat
    print '(2a)', 'MSG ', trim(msg)
  end subroutine show

  subroutine bad_cases()
    real(real32), allocatable :: x(:,:), y(:,:), xw(:,:), yb(:,:)
    real(real64), allocatable :: x64(:,:), y64(:,:)
    allocate (x(nin, 5), y(nout, 5), xw(nin + 1, 5), yb(nout, 4), x64(nin, 5), y64(nout, 5))
    x = 1
    xw = 1
    x64 = 1
    msg = ''
    call cl_model_forward(auto, xw, y, stat=stat, errmsg=msg)
    call show('wrong_shape')
    msg = ''
    call cl_model_forward(auto, x64, y64, stat=stat, errmsg=msg)
    call show('wrong_dtype')
    msg = ''
    call cl_model_forward(auto, x, yb, stat=stat, errmsg=msg)
    call show('wrong_batch')
    msg = ''
    x(2, 3) = ieee_value(x(2, 3), ieee_quiet_nan)
    call cl_model_forward(auto, x, y, stat=stat, errmsg=msg)
    call show('nan')
    msg = ''
    x(2, 3) = 0
    call cl_model_forward(auto, x, y, stat=stat, errmsg=msg)
    call show('ok')
  end subroutine bad_cases
end program backend_driver
