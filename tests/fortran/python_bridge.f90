!> Test driver of module climlearn_python: python_bridge MODE TARGETS_DIR [N]
!>   roundtrip  every dtype and rank 1-4 through bridge_targets:check_and_double
!>   zerocopy   writable inputs change the Fortran array, read-only ones cannot, and
!>              Python's view has the Fortran array's address
!>   errors     before init, unknown targets, exceptions, wrong shape/dtype/name, bad
!>              descriptors: each gives its status, and the program carries on
!>   env        print the interpreter's prefix (Python prints it)
!>   memory     N calls of the identity; prints RSS_KB after 1000 and after N calls
!>   stop       an error without stat: the program must stop with the message
!> Prints "CHECK name ok|FAIL ..." per check and "DONE" at the end.
program python_bridge_driver
  use, intrinsic :: iso_fortran_env, only: real32, real64, int32, int64, output_unit
  use, intrinsic :: iso_c_binding, only: c_loc, c_intptr_t
  use climlearn_python
  implicit none

  character(len=64) :: mode
  character(len=1024) :: targets, arg
  character(len=2048) :: msg
  integer :: stat, ncalls

  call get_command_argument(1, mode)
  call get_command_argument(2, targets)
  ncalls = 10000
  if (command_argument_count() >= 3) then
    call get_command_argument(3, arg)
    read (arg, *) ncalls
  end if

  if (mode == 'errors') then
    ! before cl_py_init
    block
      real(real64), target :: x(3)
      x = 1
      msg = ''
      call cl_py_call("bridge_targets:identity", [cl_py_arg("x", x)], stat=stat, errmsg=msg)
      call check("before_init", stat == CL_ERR_STATE .and. index(msg, "cl_py_init") > 0, msg)
      call check("is_initialized_false", .not. cl_py_is_initialized(), "")
    end block
  end if

  call cl_py_init(stat=stat, errmsg=msg, path=trim(targets))
  call check("init", stat == CL_OK, msg)
  if (stat /= CL_OK) stop 1
  call cl_py_init(stat=stat, errmsg=msg, path=trim(targets))
  call check("init_twice", stat == CL_OK .and. cl_py_is_initialized(), msg)

  select case (trim(mode))
  case ('roundtrip')
    call roundtrip()
  case ('zerocopy')
    call zerocopy()
  case ('errors')
    call errors()
  case ('env')
    call cl_py_call("bridge_targets:environment", [cl_py_array ::], stat=stat, errmsg=msg)
    call check("env", stat == CL_OK, msg)
  case ('memory')
    call memory()
  case ('stop')
    block
      real(real64), target :: x(2)
      x = 0
      call cl_py_call("bridge_targets:raise_value_error", [cl_py_arg("x", x)])
    end block
    write (output_unit, '(a)') 'NOT STOPPED'
  case default
    call check("mode", .false., "unknown mode " // trim(mode))
  end select

  call cl_py_finalize(stat=stat, errmsg=msg)
  call check("finalize", stat == CL_OK, msg)
  call cl_py_init(stat=stat, errmsg=msg)
  call check("no_restart", stat == CL_ERR_STATE, msg)
  write (output_unit, '(a)') 'DONE'

contains

  subroutine check(name, ok, detail)
    character(len=*), intent(in) :: name, detail
    logical, intent(in) :: ok
    if (ok) then
      write (output_unit, '(3a)') 'CHECK ', name, ' ok'
    else
      write (output_unit, '(5a)') 'CHECK ', name, ' FAIL ', trim(detail)
    end if
    flush (output_unit)
  end subroutine check

  !> Pattern value at 1-based indices: sum_d i_d * 10**(d-1).
  elemental real(real64) function pat(i, j, k, l)
    integer, intent(in) :: i, j, k, l
    pat = i + 10 * j + 100 * k + 1000 * l
  end function pat

  subroutine roundtrip()
    real(real32), allocatable, target :: a1(:), b1(:), a2(:,:), b2(:,:), a3(:,:,:), b3(:,:,:), &
                                         a4(:,:,:,:), b4(:,:,:,:)
    real(real64), allocatable, target :: d1(:), e1(:), d2(:,:), e2(:,:), d3(:,:,:), e3(:,:,:), &
                                         d4(:,:,:,:), e4(:,:,:,:)
    integer(int32), allocatable, target :: i1(:), j1(:), i2(:,:), j2(:,:), i3(:,:,:), &
                                           j3(:,:,:), i4(:,:,:,:), j4(:,:,:,:)
    integer :: i, j, k, l
    integer, parameter :: n1 = 5, n2 = 3, n3 = 4, n4 = 2
    character(len=*), parameter :: t = "bridge_targets:check_and_double"

    allocate (a1(n1), b1(n1), d1(n1), e1(n1), i1(n1), j1(n1))
    allocate (a2(n1, n2), b2(n1, n2), d2(n1, n2), e2(n1, n2), i2(n1, n2), j2(n1, n2))
    allocate (a3(n1, n2, n3), b3(n1, n2, n3), d3(n1, n2, n3), e3(n1, n2, n3), &
              i3(n1, n2, n3), j3(n1, n2, n3))
    allocate (a4(n1, n2, n3, n4), b4(n1, n2, n3, n4), d4(n1, n2, n3, n4), &
              e4(n1, n2, n3, n4), i4(n1, n2, n3, n4), j4(n1, n2, n3, n4))
    a1 = [(real(pat(i, 0, 0, 0), real32), i = 1, n1)]
    d1 = a1
    i1 = nint(a1)
    do l = 1, n4
      do k = 1, n3
        do j = 1, n2
          do i = 1, n1
            a4(i, j, k, l) = real(pat(i, j, k, l), real32)
          end do
          a2(:, j) = [(real(pat(i, j, 0, 0), real32), i = 1, n1)]
        end do
        a3(:, :, k) = reshape([((real(pat(i, j, k, 0), real32), i = 1, n1), j = 1, n2)], &
                              [n1, n2])
      end do
    end do
    d2 = a2; d3 = a3; d4 = a4
    i2 = nint(a2); i3 = nint(a3); i4 = nint(a4)

    call cl_py_call(t, [cl_py_arg("x", a1)], [cl_py_arg("y", b1)], stat=stat, errmsg=msg)
    call check("r32_rank1", stat == CL_OK .and. all(b1 == 2 * a1), msg)
    call cl_py_call(t, [cl_py_arg("x", a2)], [cl_py_arg("y", b2)], stat=stat, errmsg=msg)
    call check("r32_rank2", stat == CL_OK .and. all(b2 == 2 * a2), msg)
    call cl_py_call(t, [cl_py_arg("x", a3)], [cl_py_arg("y", b3)], stat=stat, errmsg=msg)
    call check("r32_rank3", stat == CL_OK .and. all(b3 == 2 * a3), msg)
    call cl_py_call(t, [cl_py_arg("x", a4)], [cl_py_arg("y", b4)], stat=stat, errmsg=msg)
    call check("r32_rank4", stat == CL_OK .and. all(b4 == 2 * a4), msg)

    call cl_py_call(t, [cl_py_arg("x", d1)], [cl_py_arg("y", e1)], stat=stat, errmsg=msg)
    call check("r64_rank1", stat == CL_OK .and. all(e1 == 2 * d1), msg)
    call cl_py_call(t, [cl_py_arg("x", d2)], [cl_py_arg("y", e2)], stat=stat, errmsg=msg)
    call check("r64_rank2", stat == CL_OK .and. all(e2 == 2 * d2), msg)
    call cl_py_call(t, [cl_py_arg("x", d3)], [cl_py_arg("y", e3)], stat=stat, errmsg=msg)
    call check("r64_rank3", stat == CL_OK .and. all(e3 == 2 * d3), msg)
    call cl_py_call(t, [cl_py_arg("x", d4)], [cl_py_arg("y", e4)], stat=stat, errmsg=msg)
    call check("r64_rank4", stat == CL_OK .and. all(e4 == 2 * d4), msg)

    call cl_py_call(t, [cl_py_arg("x", i1)], [cl_py_arg("y", j1)], stat=stat, errmsg=msg)
    call check("i32_rank1", stat == CL_OK .and. all(j1 == 2 * i1), msg)
    call cl_py_call(t, [cl_py_arg("x", i2)], [cl_py_arg("y", j2)], stat=stat, errmsg=msg)
    call check("i32_rank2", stat == CL_OK .and. all(j2 == 2 * i2), msg)
    call cl_py_call(t, [cl_py_arg("x", i3)], [cl_py_arg("y", j3)], stat=stat, errmsg=msg)
    call check("i32_rank3", stat == CL_OK .and. all(j3 == 2 * i3), msg)
    call cl_py_call(t, [cl_py_arg("x", i4)], [cl_py_arg("y", j4)], stat=stat, errmsg=msg)
    call check("i32_rank4", stat == CL_OK .and. all(j4 == 2 * i4), msg)

    ! several inputs and outputs by name; a bare array returned for a single output
    e2 = 0
    d3 = 0
    call cl_py_call("bridge_targets:two_in_two_out", [cl_py_arg("b", d2), cl_py_arg("a", e2)], &
                    [cl_py_arg("p", e4(:, :, 1, 1)), cl_py_arg("s", d3(:, :, 1))], &
                    stat=stat, errmsg=msg)
    call check("two_in_two_out", stat == CL_OK .and. all(d3(:, :, 1) == d2) &
               .and. all(e4(:, :, 1, 1) == 0), msg)
    call cl_py_call("bridge_targets:single_array", [cl_py_arg("x", a2)], [cl_py_arg("y", b2)], &
                    stat=stat, errmsg=msg)
    call check("single_array", stat == CL_OK .and. all(b2 == a2 + 1), msg)
  end subroutine roundtrip

  subroutine zerocopy()
    real(real64), target :: x(4, 3)
    real(real32), target :: y(7)
    integer(int32), target :: addr(2)
    integer(int64) :: fortran_addr
    x = 5
    call cl_py_call("bridge_targets:bump", [cl_py_arg("x", x, writable=.true.)], &
                    stat=stat, errmsg=msg)
    call check("writable_changes_fortran", stat == CL_OK .and. all(x == 6), msg)
    y = 1
    call cl_py_call("bridge_targets:bump", [cl_py_arg("x", y, writable=.true.)], &
                    stat=stat, errmsg=msg)
    call check("writable_r32", stat == CL_OK .and. all(y == 2), msg)
    msg = ''
    call cl_py_call("bridge_targets:bump", [cl_py_arg("x", x)], stat=stat, errmsg=msg)
    call check("readonly_refused", stat == CL_ERR_RUNTIME .and. index(msg, "read-only") > 0 &
               .and. all(x == 6), msg)
    call cl_py_call("bridge_targets:address", [cl_py_arg("x", x)], [cl_py_arg("addr", addr)], &
                    stat=stat, errmsg=msg)
    fortran_addr = int(transfer(c_loc(x), 0_c_intptr_t), int64)
    call check("same_address", stat == CL_OK .and. transfer(addr, 0_int64) == fortran_addr, msg)
  end subroutine zerocopy

  subroutine errors()
    real(real64), target :: x(4, 3), y(4, 3)
    integer(int32), target :: k(4, 3)
    x = 1
    msg = ''
    call cl_py_call("no_such_module_xyz:f", [cl_py_arg("x", x)], stat=stat, errmsg=msg)
    call check("unknown_module", stat == CL_ERR_ARGUMENT .and. &
               index(msg, "no_such_module_xyz") > 0, msg)
    call cl_py_call("bridge_targets:no_such_function", [cl_py_arg("x", x)], stat=stat, &
                    errmsg=msg)
    call check("unknown_function", stat == CL_ERR_ARGUMENT .and. &
               index(msg, "no_such_function") > 0, msg)
    call cl_py_call("bridge_targets", [cl_py_arg("x", x)], stat=stat, errmsg=msg)
    call check("malformed_target", stat == CL_ERR_ARGUMENT .and. &
               index(msg, "package.module:function") > 0, msg)
    call cl_py_call("bridge_targets:raise_value_error", [cl_py_arg("x", x)], stat=stat, &
                    errmsg=msg)
    call check("exception", stat == CL_ERR_RUNTIME .and. index(msg, "ValueError") > 0 .and. &
               index(msg, "bad value 1 for the test") > 0 .and. &
               index(msg, "raise ValueError") > 0, msg)
    call cl_py_call("bridge_targets:wrong_shape", [cl_py_arg("x", x)], [cl_py_arg("y", y)], &
                    stat=stat, errmsg=msg)
    call check("wrong_shape", stat == CL_ERR_SHAPE .and. index(msg, "(3, 4)") > 0 .and. &
               index(msg, "(4, 3)") > 0, msg)
    call cl_py_call("bridge_targets:float_result", [cl_py_arg("x", x)], [cl_py_arg("k", k)], &
                    stat=stat, errmsg=msg)
    call check("wrong_dtype", stat == CL_ERR_DTYPE .and. index(msg, "integer(int32)") > 0, msg)
    call cl_py_call("bridge_targets:wrong_name", [cl_py_arg("x", x)], [cl_py_arg("y", y)], &
                    stat=stat, errmsg=msg)
    call check("missing_output", stat == CL_ERR_ARGUMENT .and. index(msg, "'y'") > 0, msg)
    call cl_py_call("bridge_targets:identity", [cl_py_arg("x", x(1:4:2, :))], &
                    [cl_py_arg("y", y)], stat=stat, errmsg=msg)
    call check("not_contiguous", stat == CL_ERR_ARGUMENT .and. index(msg, "contiguous") > 0, msg)
    call cl_py_call("bridge_targets:identity", [cl_py_arg("x", x), cl_py_arg("x", y)], &
                    stat=stat, errmsg=msg)
    call check("duplicate_name", stat == CL_ERR_ARGUMENT .and. index(msg, "twice") > 0, msg)
    ! the interpreter is still usable after every error
    y = 0
    call cl_py_call("bridge_targets:identity", [cl_py_arg("x", x)], [cl_py_arg("y", y)], &
                    stat=stat, errmsg=msg)
    call check("continues", stat == CL_OK .and. all(y == x), msg)
  end subroutine errors

  subroutine memory()
    real(real64), target :: x(8, 64), y(8, 64)
    integer :: n
    integer(int64) :: rss_start
    call random_number(x)
    do n = 1, ncalls
      call cl_py_call("bridge_targets:identity", [cl_py_arg("x", x)], [cl_py_arg("y", y)], &
                      stat=stat, errmsg=msg)
      if (stat /= CL_OK) exit
      if (n == 1000) rss_start = rss_kb()
    end do
    call check("memory_calls", stat == CL_OK .and. all(y == x), msg)
    write (output_unit, '(a, 2(1x, i0))') 'RSS_KB', rss_start, rss_kb()
  end subroutine memory

  !> Resident set size in kB, from /proc/self/statm (pages of 4 kB).
  integer(int64) function rss_kb()
    integer :: unit, ios
    integer(int64) :: pages_total, pages_resident
    rss_kb = -1
    open (newunit=unit, file='/proc/self/statm', action='read', iostat=ios)
    if (ios /= 0) return
    read (unit, *, iostat=ios) pages_total, pages_resident
    close (unit)
    if (ios == 0) rss_kb = pages_resident * 4
  end function rss_kb

end program python_bridge_driver
