!> Test driver: run one model on one input of any supported kind and rank.
!> usage: forward_driver MODEL KIND RANK IN_SHAPE(1..RANK) OUT_SHAPE(1..RANK) IN.bin OUT.bin THREADS
!> KIND is 4 (real32) or 8 (real64); shapes are in Fortran order (batch last); the files
!> hold raw values in Fortran order. Exercises the generic cl_model_forward specifics.
program forward_driver
  use, intrinsic :: iso_fortran_env, only: real32, real64, error_unit
  use climlearn
  implicit none

  type(cl_model) :: model
  integer :: kind_, rank, nthreads, i, stat, narg
  integer, allocatable :: si(:), so(:)
  character(len=1024) :: path, fin, fout, arg
  character(len=1024) :: msg

  call get_command_argument(1, path)
  kind_ = int_arg(2)
  rank = int_arg(3)
  allocate (si(rank), so(rank))
  do i = 1, rank
    si(i) = int_arg(3 + i)
    so(i) = int_arg(3 + rank + i)
  end do
  narg = 4 + 2 * rank
  call get_command_argument(narg, fin)
  call get_command_argument(narg + 1, fout)
  nthreads = int_arg(narg + 2)

  call cl_set_num_threads(nthreads)
  if (cl_get_num_threads() /= nthreads) error stop 'thread count not applied'
  call cl_model_load(model, trim(path), stat=stat, errmsg=msg)
  if (stat /= CL_OK) then
    write (error_unit, '(a)') trim(msg)
    error stop 3
  end if

  if (kind_ == 4) then
    call run32()
  else
    call run64()
  end if
  call cl_model_free(model)
  if (cl_model_is_loaded(model)) error stop 'model still loaded after free'

contains

  integer function int_arg(n)
    integer, intent(in) :: n
    call get_command_argument(n, arg)
    read (arg, *) int_arg
  end function int_arg

  subroutine check(st)
    integer, intent(in) :: st
    if (st /= CL_OK) then
      write (error_unit, '(a)') trim(msg)
      error stop 4
    end if
  end subroutine check

  subroutine run32()
    real(real32), allocatable :: x1(:), y1(:), x2(:,:), y2(:,:), x3(:,:,:), y3(:,:,:), &
                                 x4(:,:,:,:), y4(:,:,:,:)
    integer :: u, uo
    open (newunit=u, file=trim(fin), access='stream', form='unformatted', status='old')
    open (newunit=uo, file=trim(fout), access='stream', form='unformatted', status='replace')
    select case (rank)
    case (1)
      allocate (x1(si(1)), y1(so(1)))
      read (u) x1
      call cl_model_forward(model, x1, y1, stat=stat, errmsg=msg); call check(stat)
      write (uo) y1
    case (2)
      allocate (x2(si(1), si(2)), y2(so(1), so(2)))
      read (u) x2
      call cl_model_forward(model, x2, y2, stat=stat, errmsg=msg); call check(stat)
      write (uo) y2
    case (3)
      allocate (x3(si(1), si(2), si(3)), y3(so(1), so(2), so(3)))
      read (u) x3
      call cl_model_forward(model, x3, y3, stat=stat, errmsg=msg); call check(stat)
      write (uo) y3
    case (4)
      allocate (x4(si(1), si(2), si(3), si(4)), y4(so(1), so(2), so(3), so(4)))
      read (u) x4
      call cl_model_forward(model, x4, y4, stat=stat, errmsg=msg); call check(stat)
      write (uo) y4
    end select
    close (u)
    close (uo)
  end subroutine run32

  subroutine run64()
    real(real64), allocatable :: x1(:), y1(:), x2(:,:), y2(:,:), x3(:,:,:), y3(:,:,:), &
                                 x4(:,:,:,:), y4(:,:,:,:)
    integer :: u, uo
    open (newunit=u, file=trim(fin), access='stream', form='unformatted', status='old')
    open (newunit=uo, file=trim(fout), access='stream', form='unformatted', status='replace')
    select case (rank)
    case (1)
      allocate (x1(si(1)), y1(so(1)))
      read (u) x1
      call cl_model_forward(model, x1, y1, stat=stat, errmsg=msg); call check(stat)
      write (uo) y1
    case (2)
      allocate (x2(si(1), si(2)), y2(so(1), so(2)))
      read (u) x2
      call cl_model_forward(model, x2, y2, stat=stat, errmsg=msg); call check(stat)
      write (uo) y2
    case (3)
      allocate (x3(si(1), si(2), si(3)), y3(so(1), so(2), so(3)))
      read (u) x3
      call cl_model_forward(model, x3, y3, stat=stat, errmsg=msg); call check(stat)
      write (uo) y3
    case (4)
      allocate (x4(si(1), si(2), si(3), si(4)), y4(so(1), so(2), so(3), so(4)))
      read (u) x4
      call cl_model_forward(model, x4, y4, stat=stat, errmsg=msg); call check(stat)
      write (uo) y4
    end select
    close (u)
    close (uo)
  end subroutine run64
end program forward_driver
