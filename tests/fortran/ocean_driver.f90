!> Test driver: NEMO-style masked gather/scatter of cl_layout_forward.
!> usage: ocean_driver MODEL KIND JPI JPJ JPK CHUNK MASKDIM VMAX IN.bin OUT.bin
!> IN.bin holds, raw real64 in Fortran order: tn, sn (jpi,jpj,jpk), utau (jpi,jpj),
!> tmask (jpi,jpj,jpk) of 0/1, and the values kz0 (jpi,jpj,jpk), hbl0 (jpi,jpj) the
!> outputs hold before the call. Host arrays are real(KIND). The model maps [tn, sn, utau]
!> (2*jpk+1 features) to [kz, hbl] (jpk+1). MASKDIM 2 gives the layout the logical
!> tmask(:,:,1) > 0 (every level of a water column written); MASKDIM 3 gives it the real
!> 3-D tmask itself (wet points only). OUT.bin receives, as real64:
!>   kz, hbl unchunked; kz, hbl with chunk=CHUNK; kz, hbl with the guard valid_max=VMAX
!>   (rejected columns untouched), then bad (jpi,jpj) as 0/1.
!> Prints "NWATER n", "NBAD n" and "COUNTS ncalls ncolumns nbad" of the guarded layout.
program ocean_driver
  use, intrinsic :: iso_fortran_env, only: real32, real64, int64, error_unit, output_unit
  use climlearn
  implicit none

  type(cl_model) :: model
  type(cl_layout) :: whole, chunked
  integer :: kind_, jpi, jpj, jpk, chunk, maskdim, stat, u, nbad
  integer(int64) :: ncalls, ncolumns, nbad_total
  real(real64) :: vmax
  character(len=1024) :: path, fin, fout, arg, msg
  real(real64), allocatable :: tn(:,:,:), sn(:,:,:), utau(:,:), tmask(:,:,:), kz0(:,:,:), &
                               hbl0(:,:), kzs(:,:,:,:), hbls(:,:,:)
  real(real64), allocatable, target :: tn8(:,:,:), sn8(:,:,:), utau8(:,:), kz8(:,:,:), hbl8(:,:)
  real(real32), allocatable, target :: tn4(:,:,:), sn4(:,:,:), utau4(:,:), kz4(:,:,:), hbl4(:,:)
  logical, allocatable :: bad(:,:)

  call get_command_argument(1, path)
  kind_ = int_arg(2)
  jpi = int_arg(3)
  jpj = int_arg(4)
  jpk = int_arg(5)
  chunk = int_arg(6)
  maskdim = int_arg(7)
  call get_command_argument(8, arg)
  read (arg, *) vmax
  call get_command_argument(9, fin)
  call get_command_argument(10, fout)

  call cl_model_load(model, trim(path), stat=stat, errmsg=msg)
  call check('load')
  allocate (tn(jpi, jpj, jpk), sn(jpi, jpj, jpk), utau(jpi, jpj), tmask(jpi, jpj, jpk), &
            kz0(jpi, jpj, jpk), hbl0(jpi, jpj), kzs(jpi, jpj, jpk, 3), hbls(jpi, jpj, 3), &
            bad(jpi, jpj))
  open (newunit=u, file=trim(fin), access='stream', form='unformatted', status='old')
  read (u) tn, sn, utau, tmask, kz0, hbl0
  close (u)
  if (kind_ == 4) then
    tn4 = real(tn, real32)
    sn4 = real(sn, real32)
    utau4 = real(utau, real32)
  else
    tn8 = tn
    sn8 = sn
    utau8 = utau
  end if

  call init(whole, 0)
  call init(chunked, chunk)
  write (output_unit, '(a, 1x, i0)') 'NWATER', cl_layout_num_columns(whole)
  call run(whole, 1, .false.)
  call run(chunked, 2, .false.)
  call run(chunked, 3, .true.)
  call cl_layout_counts(chunked, ncalls, ncolumns, nbad_total)
  write (output_unit, '(a, 1x, i0)') 'NBAD', nbad
  write (output_unit, '(a, 3(1x, i0))') 'COUNTS', ncalls, ncolumns, nbad_total

  open (newunit=u, file=trim(fout), access='stream', form='unformatted', status='replace')
  write (u) kzs, hbls, merge(1.0d0, 0.0d0, bad)
  close (u)

contains

  subroutine init(layout, n)
    type(cl_layout), intent(inout) :: layout
    integer, intent(in) :: n
    if (maskdim == 2) then
      call cl_layout_init(layout, tmask(:, :, 1) > 0.5d0, chunk=n, stat=stat, errmsg=msg)
    else if (kind_ == 4) then
      call cl_layout_init(layout, real(tmask, real32), chunk=n, stat=stat, errmsg=msg)
    else
      call cl_layout_init(layout, tmask, chunk=n, stat=stat, errmsg=msg)
    end if
    call check('init')
  end subroutine init

  !> One masked call; outputs start from kz0, hbl0 so untouched points can be checked.
  subroutine run(layout, slot, guard)
    type(cl_layout), intent(inout) :: layout
    integer, intent(in) :: slot
    logical, intent(in) :: guard
    if (kind_ == 4) then
      kz4 = real(kz0, real32)
      hbl4 = real(hbl0, real32)
      if (guard) then
        call cl_layout_forward(layout, model, [cl_field(tn4), cl_field(sn4), cl_field(utau4)], &
                               [cl_field(kz4), cl_field(hbl4)], valid_max=[vmax], bad=bad, &
                               nbad=nbad, stat=stat, errmsg=msg)
      else
        call cl_layout_forward(layout, model, [cl_field(tn4), cl_field(sn4), cl_field(utau4)], &
                               [cl_field(kz4), cl_field(hbl4)], stat=stat, errmsg=msg)
      end if
      kzs(:, :, :, slot) = real(kz4, real64)
      hbls(:, :, slot) = real(hbl4, real64)
    else
      kz8 = kz0
      hbl8 = hbl0
      if (guard) then
        call cl_layout_forward(layout, model, [cl_field(tn8), cl_field(sn8), cl_field(utau8)], &
                               [cl_field(kz8), cl_field(hbl8)], valid_max=[vmax], bad=bad, &
                               nbad=nbad, stat=stat, errmsg=msg)
      else
        call cl_layout_forward(layout, model, [cl_field(tn8), cl_field(sn8), cl_field(utau8)], &
                               [cl_field(kz8), cl_field(hbl8)], stat=stat, errmsg=msg)
      end if
      kzs(:, :, :, slot) = kz8
      hbls(:, :, slot) = hbl8
    end if
    call check('layout forward')
  end subroutine run

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
end program ocean_driver
